// The hub's reconciliation of its routings with what recipients confirmed. A provider or job
// centre answers a ReferralRouted with ReferralReceived once the referral is in its inbox; a
// pending referral whose current routing has no receipt after `afterMs` was lost between the two
// (the broker forgot the routing, or the recipient's receipt), and the routing is sent again from
// the outbox under its own event id — the recipient's inbox drops it if it had it. After
// `maxAttempts` the hub stops and reports it as stuck, waiting on that recipient.
import { common, operator } from '@lotse/contracts';
import { republishEvents } from '@lotse/messaging';
import { startPeriodic, type AgencyContext, type PeriodicJob } from '@lotse/runtime';
import { sql } from 'kysely';
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
  const pending = common.ReferralStatus.REFERRAL_STATUS_PENDING;

  /** Pending referrals whose current routing has no receipt from the recipient, routed before `cutoff`. */
  const unconfirmed = (db: typeof rt.db, cutoff: Date) =>
    db
      .selectFrom('hub_referral as r')
      .innerJoinLateral(
        (eb) =>
          eb
            .selectFrom('timeline_entry as t')
            .select(['t.event_id', 't.seq'])
            .whereRef('t.referral_id', '=', 'r.referral_id')
            .where('t.event_type', '=', 'ReferralRouted')
            .orderBy('t.seq', 'desc')
            .limit(1)
            .as('routed'),
        (join) => join.onTrue(),
      )
      .leftJoin('routing_follow_up as f', 'f.referral_id', 'r.referral_id')
      .where('r.status', '=', pending)
      .where('r.provider_id', 'is not', null)
      .where('r.updated_at', '<', cutoff)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('timeline_entry as x')
              .select(sql`1`.as('one'))
              .whereRef('x.referral_id', '=', 'r.referral_id')
              .where('x.event_type', '=', 'ReferralReceived')
              .whereRef('x.agency_id', '=', 'r.provider_id')
              .whereRef('x.seq', '>', 'routed.seq'),
          ),
        ),
      );

  async function runOnce(): Promise<number> {
    const now = rt.now();
    const cutoff = new Date(now.getTime() - options.afterMs);
    const resent = await rt.transact(async (trx) => {
      const due = (
        await unconfirmed(trx as unknown as typeof rt.db, cutoff)
          .select(['r.referral_id', 'routed.event_id as routed_event_id', 'f.routed_event_id as counted_event_id', 'f.resent_count', 'f.resent_at'])
          .orderBy('r.updated_at')
          .limit(options.batch ?? 100)
          .execute()
      ).filter((d) => {
        // A re-routing is another event: its count starts anew.
        const count = d.counted_event_id === d.routed_event_id ? (d.resent_count ?? 0) : 0;
        const last = d.counted_event_id === d.routed_event_id ? d.resent_at : null;
        return count < options.maxAttempts && (!last || last < cutoff);
      });
      if (due.length === 0) return 0;
      await republishEvents(trx, due.map((d) => d.routed_event_id));
      for (const d of due) {
        const count = d.counted_event_id === d.routed_event_id ? (d.resent_count ?? 0) + 1 : 1;
        const values = { routed_event_id: d.routed_event_id, resent_at: now, resent_count: count };
        await trx.insertInto('routing_follow_up').values({ referral_id: d.referral_id, ...values }).onConflict((oc) => oc.column('referral_id').doUpdateSet(values)).execute();
      }
      return due.length;
    });
    if (resent > 0) rt.logger.warn({ resent }, 'routings no recipient confirmed were sent again');
    return resent;
  }

  /** Unconfirmed routings per recipient, and how many of them are stuck. */
  async function awaiting(): Promise<operator.AwaitedAnswer[]> {
    const cutoff = new Date(rt.now().getTime() - options.afterMs);
    const rows = await unconfirmed(rt.db, cutoff)
      .select((eb) => [
        'r.provider_id',
        eb.fn.countAll<number>().as('waiting'),
        eb.fn.count<number>(sql`case when f.routed_event_id = routed.event_id and f.resent_count >= ${options.maxAttempts} then 1 end`).as('stuck'),
        eb.fn.min('r.updated_at').as('oldest'),
      ])
      .groupBy('r.provider_id')
      .execute();
    return rows.map((r) =>
      operator.AwaitedAnswer.fromPartial({ eventType: 'ReferralRouted', waitsOn: r.provider_id ?? '', waiting: Number(r.waiting), stuck: Number(r.stuck), oldestAt: r.oldest ? new Date(r.oldest as Date) : undefined }),
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
