import { trace } from '@opentelemetry/api';
import type { Transaction } from 'kysely';
import type { OneStopDb } from './schema.js';

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
export async function recordDeskStep(trx: Transaction<OneStopDb>, step: DeskStep): Promise<void> {
  await trx
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
