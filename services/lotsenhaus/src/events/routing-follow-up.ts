// The hub's reconciliation of its routings with what recipients confirmed. A provider or job
// centre answers a ReferralRouted with ReferralReceived once the referral is in its inbox; a
// pending referral whose current routing has no receipt after `afterMs` was lost between the two
// (the broker forgot the routing, or the recipient's receipt), and the routing is sent again from
// the outbox under its own event id — the recipient's inbox drops it if it had it. After
// `maxAttempts` the hub stops and reports it as stuck, waiting on that recipient.
import { events, eventTypeOf, operator } from '@lotse/contracts';
import { republishEvents } from '@lotse/messaging';
import { startPeriodic, type AgencyContext, type PeriodicJob } from '@lotse/runtime';
import { hubRepository } from '../db/hub-repository.js';
import type { HubDb } from '../db/schema.js';

export interface RoutingFollowUpOptions {
  /** How often to look (0: never). */
  intervalMs: number;
  /** How long a routing may wait for its receipt before it is sent again. */
  afterMs: number;
  /** Sends per routing; then it is reported as stuck. */
  maxAttempts: number;
  batch?: number;
}

export const defaultRoutingFollowUp: RoutingFollowUpOptions = { intervalMs: 15_000, afterMs: 60_000, maxAttempts: 5, batch: 100 };

export function routingFollowUp(rt: AgencyContext<HubDb>, options: RoutingFollowUpOptions) {
  async function runOnce(): Promise<number> {
    const now = rt.now();
    const cutoff = new Date(now.getTime() - options.afterMs);
    const resent = await rt.transact(async (trx) => {
      const due = (await hubRepository.unconfirmedRoutings(trx, cutoff, options.batch ?? 100)).filter((d) => {
        // A re-routing is another event: its count starts anew.
        const count = d.counted_event_id === d.routed_event_id ? (d.resent_count ?? 0) : 0;
        const last = d.counted_event_id === d.routed_event_id ? d.resent_at : null;
        return count < options.maxAttempts && (!last || last < cutoff);
      });
      if (due.length === 0) return 0;
      await republishEvents(trx, due.map((d) => d.routed_event_id));
      for (const d of due) {
        const count = d.counted_event_id === d.routed_event_id ? (d.resent_count ?? 0) + 1 : 1;
        await hubRepository.countResend(trx, { referralId: d.referral_id, routedEventId: d.routed_event_id, at: now, count });
      }
      return due.length;
    });
    if (resent > 0) rt.logger.warn({ resent }, 'routings no recipient confirmed were sent again');
    return resent;
  }

  /** Unconfirmed routings per recipient, and how many of them are stuck. */
  async function awaiting(): Promise<operator.AwaitedAnswer[]> {
    const cutoff = new Date(rt.now().getTime() - options.afterMs);
    const rows = await hubRepository.unconfirmedPerRecipient(rt.db, cutoff, options.maxAttempts);
    return rows.map((r) =>
      operator.AwaitedAnswer.fromPartial({ eventType: eventTypeOf(events.ReferralRouted), waitsOn: r.provider_id ?? '', waiting: Number(r.waiting), stuck: Number(r.stuck), oldestAt: r.oldest ? new Date(r.oldest as Date) : undefined }),
    );
  }

  let job: PeriodicJob | undefined;
  return {
    runOnce,
    awaiting,
    start() {
      job ??= startPeriodic('routing follow-up', options.intervalMs, rt.logger, runOnce);
    },
    async stop() {
      await job?.stop();
    },
  };
}
