import * as directoryEvents from './gen/lotse/events/v1/directory_events.js';
import * as jobCentreEvents from './gen/lotse/events/v1/job_centre_events.js';
import * as oneStopEvents from './gen/lotse/events/v1/one_stop_events.js';
import * as referralEvents from './gen/lotse/events/v1/referral_events.js';

// An event's type on the bus is its message's name in lotse.events.v1 (the envelope's
// event_type). Taken from the generated codec itself, so no caller writes the name a second time.
const names = new Map<object, string>();
for (const namespace of [referralEvents, oneStopEvents, directoryEvents, jobCentreEvents]) {
  for (const [name, value] of Object.entries(namespace)) {
    if (value && typeof value === 'object' && 'encode' in value && 'decode' in value) names.set(value, name);
  }
}

/** The event type of a generated event codec, e.g. `eventTypeOf(events.ReferralRouted)` → 'ReferralRouted'. */
export function eventTypeOf(codec: object): string {
  const name = names.get(codec);
  if (!name) throw new Error('not a message codec of lotse.events.v1: events are published and handled by their generated codec');
  return name;
}
