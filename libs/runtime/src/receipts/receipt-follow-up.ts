// The producer's reconciliation of events that have no natural answer (a provider's accept, first
// contact, a job centre's case steps …) with what their recipient took in. The broker may lose a
// stream's messages without a reset the relay can notice — an operator purges a stream while events
// wait in it unconsumed — and then only the recipient knows. So: events of the given types published
// more than `afterMs` ago are asked about (ConfirmReceipts, in batches); confirmed ones are done,
// the rest go out again from the outbox (under `<event id>~<n>`, so a purged stream's duplicate
// window does not drop them; the recipient's applied_event table drops copies it had). After `maxAttempts` sends
// an event is stuck, shown to operators in GetOutboxStatus `awaiting`. Domain-free: the service
// names the recipient and the event types (from the flow table, see eventTypesSent).
import { integer, type Env } from '@lotse/config';
import { operator, receipts } from '@lotse/contracts';
import { eventFlows } from '@lotse/flows';
import { createClient, type PromiseClient } from '@lotse/grpc';
import { dueReceipts, openReceipts, recordReceipts } from '@lotse/messaging';
import type { AgencyContext } from '../agency.js';
import { startPeriodic, type PeriodicJob } from '../periodic.js';

export interface ReceiptFollowUpOptions {
  /** How often to look (0: never). */
  intervalMs: number;
  /** How long after publishing an event is asked about (and, after a send again, asked again). */
  afterMs: number;
  /** Sends again per event; then it is reported as stuck. */
  maxAttempts: number;
  /** Events asked about per run (one ConfirmReceipts call). */
  batch?: number;
  /**
   * How far back events never asked about are looked for. The outbox keeps every event; this bounds
   * each run's scan to its recent end. Longer than any outage of the follow-up should last.
   */
  lookBackMs?: number;
}

export const defaultReceiptFollowUp: Required<ReceiptFollowUpOptions> = { intervalMs: 15_000, afterMs: 60_000, maxAttempts: 5, batch: 100, lookBackMs: 7 * 24 * 3600_000 };

/** RECEIPT_FOLLOW_UP_INTERVAL_MS, _AFTER_MS, _ATTEMPTS; defaults when absent. */
export function receiptFollowUpConfig(env: Env): ReceiptFollowUpOptions {
  return {
    intervalMs: integer(env, 'RECEIPT_FOLLOW_UP_INTERVAL_MS', defaultReceiptFollowUp.intervalMs, { min: 0 }),
    afterMs: integer(env, 'RECEIPT_FOLLOW_UP_AFTER_MS', defaultReceiptFollowUp.afterMs, { min: 0 }),
    maxAttempts: integer(env, 'RECEIPT_FOLLOW_UP_ATTEMPTS', defaultReceiptFollowUp.maxAttempts, { min: 1, max: 100 }),
  };
}

/** Transactions that commit this long after they began still have their events looked at. */
const COMMIT_SLACK_MS = 5 * 60_000;

export interface ReceiptRecipient {
  agencyId: string;
  /** Its gRPC address (host:port). */
  address: string;
}

/** The event types the flow table lets `senderType` send to `recipientType`. */
export function eventTypesSent(senderType: string, recipientType: string): string[] {
  return [...new Set(eventFlows().filter((f) => f.senderType === senderType && f.recipientType === recipientType).map((f) => f.event))].sort();
}

export interface ReceiptFollowUpDeps {
  /** Asks the recipient; by default its ReceiptService over mTLS. Returns the confirmed ids. */
  confirm?: (eventIds: string[]) => Promise<string[]>;
}

export function receiptFollowUp(rt: AgencyContext<any>, recipient: ReceiptRecipient, eventTypes: readonly string[], options: ReceiptFollowUpOptions, deps: ReceiptFollowUpDeps = {}) {
  // Field by field: an option given as undefined (batch, lookBackMs) takes the default.
  const opts: Required<ReceiptFollowUpOptions> = { ...options, batch: options.batch ?? defaultReceiptFollowUp.batch, lookBackMs: options.lookBackMs ?? defaultReceiptFollowUp.lookBackMs };
  let client: PromiseClient<receipts.ReceiptServiceClient> | undefined;
  const confirm =
    deps.confirm ??
    (async (eventIds: string[]) => {
      client ??= createClient(receipts.ReceiptServiceClient, recipient.address, rt.identity, { serverAgencyId: recipient.agencyId, deadlineMs: 5000 });
      return (await client.confirmReceipts({ eventIds })).receivedEventIds;
    });

  // Where the scan for events never asked about starts: the whole look-back on the first run, then
  // only the recent end of the outbox. It moves up to the oldest event not due yet, less a slack
  // for transactions that commit after others that started later (created_at is their start).
  let scanFrom: Date | undefined;

  /** One pass over at most one batch. Returns how many events were sent again. */
  async function runOnce(): Promise<number> {
    const now = rt.now();
    const publishedBefore = new Date(now.getTime() - opts.afterMs);
    const lookBack = new Date(now.getTime() - opts.lookBackMs);
    const since = scanFrom && scanFrom > lookBack ? scanFrom : lookBack;
    const { due, notDueFrom } = await dueReceipts(rt.db, { recipient: recipient.agencyId, eventTypes, publishedBefore, since, maxAttempts: opts.maxAttempts, limit: opts.batch });
    // Once this run's events are asked about (or there are none), nothing before this is new. A
    // full batch may have left some: the next run starts where this one did.
    const settled = new Date(Math.min(publishedBefore.getTime(), notDueFrom?.getTime() ?? Infinity) - COMMIT_SLACK_MS);
    const advance = () => {
      if (due.length < opts.batch) scanFrom = settled;
    };
    if (due.length === 0) {
      advance();
      return 0;
    }
    let received: Set<string>;
    try {
      received = new Set(await confirm(due.map((d) => d.eventId)));
    } catch (error) {
      // Not knowing is no reason to send: the next run asks again — on a new channel, since
      // grpc-js would keep failing a refused one fast for its reconnect backoff (up to 2 min).
      client?.close();
      client = undefined;
      rt.logger.warn({ err: error instanceof Error ? error.message : String(error), waits_on: recipient.agencyId, asked: due.length }, 'the recipient could not be asked for receipts; trying again next run');
      return 0;
    }
    const confirmed = due.filter((d) => received.has(d.eventId)).map((d) => d.eventId);
    const missing = due.filter((d) => !received.has(d.eventId)).map((d) => d.eventId);
    await rt.transact((trx) => recordReceipts(trx, recipient.agencyId, { confirmed, missing, at: now }));
    advance();
    if (missing.length > 0) rt.logger.warn({ resent: missing.length, waits_on: recipient.agencyId }, 'events the recipient does not have were sent again');
    return missing.length;
  }

  /** Unconfirmed events per type, waiting on the recipient, for GetOutboxStatus. */
  async function awaiting(): Promise<operator.AwaitedAnswer[]> {
    const rows = await openReceipts(rt.db, recipient.agencyId, opts.maxAttempts);
    return rows.map((r) => operator.AwaitedAnswer.fromPartial({ eventType: r.eventType, waitsOn: recipient.agencyId, waiting: r.waiting, stuck: r.stuck, oldestAt: r.oldestAt ?? undefined }));
  }

  let job: PeriodicJob | undefined;
  return {
    runOnce,
    awaiting,
    start() {
      job ??= startPeriodic('receipt follow-up', opts.intervalMs, rt.logger, runOnce);
    },
    async stop() {
      await job?.stop();
      client?.close();
    },
  };
}

export type ReceiptFollowUp = ReturnType<typeof receiptFollowUp>;

/**
 * A provider's or job centre's follow-up of its events to the hub: the event types the flow table
 * lets its agency type send to the hub's. Without the hub's address there is nobody to ask, and the
 * follow-up is off (said once at start-up); undefined then.
 */
export function hubReceiptFollowUp(
  rt: AgencyContext<any>,
  hub: { agencyId: string; address: string | undefined; agencyType?: string },
  options: ReceiptFollowUpOptions = defaultReceiptFollowUp,
): ReceiptFollowUp | undefined {
  if (!hub.address) {
    rt.logger.warn({ waits_on: hub.agencyId }, 'no HUB_ADDRESS: the receipt follow-up is off; events the broker loses before the hub consumed them go unnoticed');
    return undefined;
  }
  return receiptFollowUp(rt, { agencyId: hub.agencyId, address: hub.address }, eventTypesSent(rt.agencyType, hub.agencyType ?? 'lotsenhaus'), options);
}
