import { common } from '@lotse/contracts';
import { trace } from '@opentelemetry/api';
import type { Transaction } from 'kysely';
import type { HubDb } from './db/schema.js';

// What the hub offers the one-stop desk that shares its deployment. The hub's tables
// (case_index, hub_referral, consent_withdrawal, timeline_entry) stay the hub's: the desk reads
// and adds to them only through these functions, in the desk's own transaction.

/** The desk's transaction (its database has the hub's tables and its own), seen as the hub's. */
type Trx = Transaction<any>;
const hub = (trx: Trx) => trx as Transaction<HubDb>;

export interface DeskStep {
  eventId: string;
  caseRef: string;
  referralId?: string;
  eventType: string;
  agencyId: string;
  occurredAt: Date;
  /** Codes and names of organisations only, no personal data. */
  summary: string;
}

/**
 * Adds a desk step to the hub's one case timeline, in the transaction of the step itself. Keyed
 * by the step's event id like every timeline entry, so the hub's own consumer (if it also follows
 * the Lotsenhaus's stream) records nothing twice.
 */
export async function recordDeskStep(trx: Trx, step: DeskStep): Promise<void> {
  await hub(trx)
    .insertInto('timeline_entry')
    .values({
      event_id: step.eventId,
      case_ref: step.caseRef,
      referral_id: step.referralId ?? '',
      event_type: step.eventType,
      agency_id: step.agencyId,
      occurred_at: step.occurredAt,
      trace_id: trace.getActiveSpan()?.spanContext().traceId ?? '',
      summary: step.summary,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
}

/** Whether the owner's withdrawal of the consent reached the hub. */
export async function consentWithdrawn(trx: Trx, consentId: string): Promise<boolean> {
  return (await hub(trx).selectFrom('consent_withdrawal').select('consent_id').where('consent_id', '=', consentId).executeTakeFirst()) !== undefined;
}

/** A case that starts at the desk (a walk-in) enters the hub's case index, so its timeline can be read. */
export async function indexDeskCase(trx: Trx, caseRef: string, deskAgencyId: string, referralId: string, now: Date): Promise<void> {
  await hub(trx)
    .insertInto('case_index')
    .values({
      case_ref: caseRef,
      status: common.ReferralStatus.REFERRAL_STATUS_ACCEPTED,
      current_agency_id: deskAgencyId,
      referral_id: referralId,
      municipality: '',
      age_group: 0,
      opened_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('case_ref').doNothing())
    .execute();
}

/**
 * The hub's status of a referral it routed, locked until the transaction ends: a withdrawal the
 * hub applies meanwhile locks the same row, so it commits either before or after the caller.
 */
export async function lockRoutedStatus(trx: Trx, referralId: string): Promise<common.ReferralStatus | undefined> {
  return (await hub(trx).selectFrom('hub_referral').select('status').where('referral_id', '=', referralId).forUpdate().executeTakeFirst())?.status;
}

/** The routing facts the hub holds for a referral it routed: the municipality and the consent's recipients. */
export async function routingFacts(trx: Trx, referralId: string): Promise<{ municipality: string; consented_recipients: string[] } | undefined> {
  return hub(trx).selectFrom('hub_referral').select(['municipality', 'consented_recipients']).where('referral_id', '=', referralId).executeTakeFirst();
}
