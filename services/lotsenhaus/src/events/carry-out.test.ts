import { eventTypeOf } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { outgoingCodecs } from './carry-out.js';

// The deciders name what they publish ({ type: 'ReferralRouted', message }); the envelope's type
// comes from the codec looked up here. A key naming another codec's message would publish under
// a type the decider did not mean.
describe('the codecs of what the hub publishes', () => {
  it('are each under their own event type', () => {
    for (const [type, codec] of Object.entries(outgoingCodecs)) expect(eventTypeOf(codec), type).toBe(type);
  });
});
