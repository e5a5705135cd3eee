// Carries out what a decider decided, in the handler's transaction: the referrals' new states,
// the case index, the messages for other agencies, the timeline steps and the audit of routing.
import { events } from '@lotse/contracts';
import type { MessageCodec } from '@lotse/messaging';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import { auditRoutingDecision } from '../data-protection/audit-routing.js';
import { hubRepository as repo } from '../db/hub-repository.js';
import type { HubDb } from '../db/schema.js';
import { evolveAll, UnknownReferralError, type Decision, type Outgoing, type ReferralState } from '../domain/referral-lifecycle.js';

export type Trx = Transaction<HubDb>;

/**
 * The codec of each message type a decider publishes. The deciders are pure and name the type;
 * a unit test keeps each name equal to its codec's event type (eventTypeOf), which rt.publish puts
 * on the envelope.
 */
export const outgoingCodecs: { [T in Outgoing['type']]: MessageCodec<Extract<Outgoing, { type: T }>['message']> } = {
  ReferralRouted: events.ReferralRouted,
  ReferralStatusChanged: events.ReferralStatusChanged,
  ReferralWithdrawn: events.ReferralWithdrawn,
  ErasureRequested: events.ErasureRequested,
};

/**
 * Applies the decision; false when it was refused (logged where the decider says why, thrown
 * where the event names a referral the hub never had, so it is retried and then parked).
 */
export async function carryOut(
  rt: AgencyContext<HubDb>,
  trx: Trx,
  d: Decision,
  before: readonly (ReferralState | undefined)[],
  log: Record<string, string> = {},
): Promise<boolean> {
  if (d.refused) {
    if (d.refused.reason === 'unknown-referral') throw new UnknownReferralError(`${d.refused.warning ?? 'unknown referral'} (${Object.values(log).join(', ')})`);
    if (d.refused.warning) rt.logger.warn(log, d.refused.warning);
    return false;
  }
  const known = new Map(before.flatMap((r) => (r ? [[r.referral_id, r] as const] : [])));
  for (const [id, after] of evolveAll(known, d.changes)) await repo.saveReferral(trx, known.get(id), after);
  for (const change of d.caseIndex) await repo.applyCaseIndex(trx, change);
  if (d.auditRouting) await auditRoutingDecision(rt, trx, d.auditRouting.request, d.auditRouting.routedTo);
  const published: string[] = [];
  for (const o of d.publish) published.push(await rt.publish(trx, outgoingCodecs[o.type] as MessageCodec<typeof o.message>, o.message, o.message.caseRef, o.audience));
  for (const step of d.timeline) {
    await repo.recordStep(trx, { ...step, eventId: typeof step.eventId === 'string' ? step.eventId : published[step.eventId.published]! });
  }
  return true;
}
