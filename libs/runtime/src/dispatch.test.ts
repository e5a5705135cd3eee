import { envelope, events } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { on, subjectOf, subscribe } from './dispatch.js';

// A subscription keys its handlers by their codecs' event types: the name is never written beside the codec.

const trx = {} as never;
const received = (eventType: string, payload: Uint8Array) => ({
  subject: 'lotse.hub.x',
  envelope: envelope.Envelope.fromPartial({ eventId: 'e-1', eventType, producerAgencyId: 'hub', caseRef: 'C-1', payload: Buffer.from(payload) }),
});

describe('subscribe', () => {
  it('hands each event to the handler of its codec, decoded', async () => {
    const seen: string[] = [];
    const s = subscribe<unknown>('hub', 'lotse.hub.>', [
      on(events.ReferralRouted, async (_trx, message) => void seen.push(`routed ${message.referralId}`)),
      on(events.ReferralWithdrawn, async (_trx, message) => void seen.push(`withdrawn ${message.referralId}`)),
    ]);
    await s.handle(trx, received('ReferralWithdrawn', events.ReferralWithdrawn.encode(events.ReferralWithdrawn.fromPartial({ referralId: 'R-2' })).finish()));
    await s.handle(trx, received('ReferralRouted', events.ReferralRouted.encode(events.ReferralRouted.fromPartial({ referralId: 'R-1' })).finish()));
    expect(seen).toEqual(['withdrawn R-2', 'routed R-1']);
  });

  it('skips a type it has no handler for (a newer producer may add events)', async () => {
    const s = subscribe<unknown>('hub', 'lotse.hub.>', [on(events.ReferralRouted, async () => expect.fail('not this one'))]);
    await expect(s.handle(trx, received('SomethingNew', new Uint8Array()))).resolves.toBeUndefined();
  });

  it('refuses two handlers for one event type when it is built', () => {
    const twice = () => subscribe<unknown>('hub', 'lotse.hub.*.me', [on(events.ReferralRouted, async () => {}), on(events.ReferralRouted, async () => {})]);
    expect(twice).toThrow("two handlers for ReferralRouted in the subscription to lotse.hub.*.me of hub's stream");
  });

  it('refuses a codec that is not a generated event codec', () => {
    expect(() => on(envelope.Envelope, async () => {})).toThrow(/not a message codec of lotse.events.v1/);
  });
});

describe('subjectOf', () => {
  it("names the subject by the codec's event type", () => {
    expect(subjectOf('lotsenhaus', events.ReferralRouted, 'caritas-koblenz')).toBe('lotse.lotsenhaus.referral-routed.caritas-koblenz');
    expect(subjectOf('caritas-koblenz', events.ReferralAccepted)).toBe('lotse.caritas-koblenz.referral-accepted');
  });
});
