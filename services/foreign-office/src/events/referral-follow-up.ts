// Reconciliation of the office's referral requests with what the hub confirmed. The hub answers
// every ReferralRequested with a ReferralStatusChanged (routed, unroutable, withdrawn); a request
// still unanswered after `afterMs` was lost somewhere (the broker forgot it, or the hub took it
// and the broker forgot its answer), and is sent again from the outbox under its own event id —
// the hub's applied_event table drops it if it had it. After `maxAttempts` the office stops and reports the
// referral as stuck, waiting on the hub, for an operator to look at.
import { common } from '@lotse/contracts';
import { republishEvents } from '@lotse/messaging';
import { startPeriodic, type AgencyContext, type PeriodicJob } from '@lotse/runtime';
import { sql } from 'kysely';
import type { ForeignOfficeDb } from '../db/schema.js';

export interface ReferralFollowUpOptions {
  /** How often to look (0: never). */
  intervalMs: number;
  /** How long a request may wait for the hub's answer before it is sent again. */
  afterMs: number;
  /** Sends per request; then it is reported as stuck. */
  maxAttempts: number;
  /** Requests looked at per run. */
  batch?: number;
}

export const defaultFollowUp: ReferralFollowUpOptions = { intervalMs: 15_000, afterMs: 60_000, maxAttempts: 5, batch: 100 };

export interface AwaitingHub {
  /** Requests the hub has not answered within `afterMs` (younger ones are on their way). */
  waiting: number;
  /** Of them, those sent again `maxAttempts` times: stuck until an operator acts. */
  stuck: number;
  oldestRequestedAt?: Date;
  /** Sent again in the last run. */
  resent: number;
}

export function referralFollowUp(rt: AgencyContext<ForeignOfficeDb>, hubAgencyId: string, options: ReferralFollowUpOptions) {
  const requested = common.ReferralStatus.REFERRAL_STATUS_REQUESTED;
  let lastResent = 0;

  /** One pass: sends again what waited too long, in one transaction. Returns how many. */
  async function runOnce(): Promise<number> {
    const cutoff = new Date(rt.now().getTime() - options.afterMs);
    const resent = await rt.transact(async (trx) => {
      const due = await trx
        .selectFrom('referral')
        .select(['referral_id', 'request_event_id'])
        .where('status', '=', requested)
        .where('request_event_id', 'is not', null)
        .where('resent_count', '<', options.maxAttempts)
        .where(sql<boolean>`coalesce(resent_at, requested_at) < ${cutoff}`)
        .orderBy('requested_at')
        .limit(options.batch ?? 100)
        .forUpdate()
        .skipLocked()
        .execute();
      if (due.length === 0) return 0;
      await republishEvents(trx, due.map((d) => d.request_event_id!));
      await trx
        .updateTable('referral')
        .set((eb) => ({ resent_at: rt.now(), resent_count: eb('resent_count', '+', 1) }))
        .where('referral_id', 'in', due.map((d) => d.referral_id))
        .execute();
      return due.length;
    });
    lastResent = resent;
    if (resent > 0) rt.logger.warn({ resent, waits_on: hubAgencyId }, 'referral requests the hub has not answered were sent again');
    return resent;
  }

  async function status(): Promise<AwaitingHub> {
    const row = await rt.db
      .selectFrom('referral')
      .select((eb) => [
        eb.fn.countAll<number>().as('waiting'),
        eb.fn.count<number>(sql`case when resent_count >= ${options.maxAttempts} then 1 end`).as('stuck'),
        eb.fn.min('requested_at').as('oldest'),
      ])
      .where('status', '=', requested)
      .where('requested_at', '<', new Date(rt.now().getTime() - options.afterMs))
      .executeTakeFirstOrThrow();
    return { waiting: Number(row.waiting), stuck: Number(row.stuck), oldestRequestedAt: row.oldest ? new Date(row.oldest as Date) : undefined, resent: lastResent };
  }

  let job: PeriodicJob | undefined;
  return {
    runOnce,
    status,
    start() {
      job ??= startPeriodic('referral follow-up', options.intervalMs, rt.logger, runOnce);
    },
    async stop() {
      await job?.stop();
    },
  };
}
