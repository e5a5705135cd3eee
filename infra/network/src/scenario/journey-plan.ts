// What each journey of a scenario run is to do: who the newcomer is, how the case is to end and the
// choices on the way. Drawn from the run's seed, so the same seed plans the same journeys.
import { common } from '@lotse/contracts';
import { journeyRandom, newPerson, type Person, type Random } from './people.js';

const { DeclineReason, ContactChannel } = common;

export type Kind = 'accept' | 'decline' | 'revoke' | 'expire';

export interface Mix {
  decline: number;
  revoke: number;
  expire: number;
  /** Share of accepted adults referred on to the job centre (when the network has one). */
  jobcentre: number;
}

export interface Plan {
  index: number;
  person: Person;
  kind: Kind;
  declineReason: common.DeclineReason;
  /** A revoke before (pending) or after the provider accepted. */
  revokeAfterAccept: boolean;
  referOn: boolean;
  channel: common.ContactChannel;
  rng: Random;
}

/** Every journey's plan follows from the seed and its index alone. */
export function planJourney(seed: number, index: number, mix: Mix, municipalities: readonly string[], today: Date): Plan {
  const rng = journeyRandom(seed, index);
  const person = newPerson(rng, municipalities, today);
  const roll = rng.next();
  const kind: Kind = roll < mix.decline ? 'decline' : roll < mix.decline + mix.revoke ? 'revoke' : roll < mix.decline + mix.revoke + mix.expire ? 'expire' : 'accept';
  return {
    index,
    person,
    kind,
    declineReason: rng.pick([DeclineReason.DECLINE_REASON_NO_CAPACITY, DeclineReason.DECLINE_REASON_NEWCOMER_UNREACHABLE, DeclineReason.DECLINE_REASON_OTHER]),
    revokeAfterAccept: rng.chance(0.5),
    referOn: person.age >= 18 && rng.chance(mix.jobcentre),
    channel: rng.pick([ContactChannel.CONTACT_CHANNEL_IN_PERSON, ContactChannel.CONTACT_CHANNEL_IN_PERSON, ContactChannel.CONTACT_CHANNEL_PHONE, ContactChannel.CONTACT_CHANNEL_VIDEO]),
    rng,
  };
}
