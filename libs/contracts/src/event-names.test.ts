import { describe, expect, it } from 'vitest';
import { directoryEvents, events, eventTypeOf, jobCentreEvents, oneStopEvents } from './index.js';

describe('eventTypeOf', () => {
  it('names an event by its generated message, in every events package', () => {
    expect(eventTypeOf(events.ReferralRouted)).toBe('ReferralRouted');
    expect(eventTypeOf(jobCentreEvents.CustomerRegistered)).toBe('CustomerRegistered');
    expect(eventTypeOf(oneStopEvents.IntakeRecorded)).toBe('IntakeRecorded');
    expect(eventTypeOf(directoryEvents.DirectoryEntryVerificationDue)).toBe('DirectoryEntryVerificationDue');
  });

  it('refuses what is not an event codec rather than invent a name', () => {
    expect(() => eventTypeOf({ encode() {}, decode() {} })).toThrow(/not a message codec of lotse.events.v1/);
  });
});
