import type { Attributes } from '@opentelemetry/api';

// The attributes every publish, consume and replay span carries, so the console can find all
// spans of a case (lotse.case_ref) or of one event (lotse.event_id). Pseudonymous references
// only: an event's payload never becomes an attribute.

export const ATTR_CASE_REF = 'lotse.case_ref';
export const ATTR_EVENT_ID = 'lotse.event_id';
export const ATTR_EVENT_TYPE = 'lotse.event_type';

export function eventAttributes(event: { eventId: string; eventType: string; caseRef: string }): Attributes {
  return {
    'messaging.message.id': event.eventId,
    [ATTR_EVENT_ID]: event.eventId,
    [ATTR_EVENT_TYPE]: event.eventType,
    ...(event.caseRef ? { [ATTR_CASE_REF]: event.caseRef } : {}),
  };
}
