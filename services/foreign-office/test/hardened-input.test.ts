// Integration tier: bytes no generated client would send, refused at the server's edge with
// INVALID_ARGUMENT naming the field, and nothing written — on the real PostgreSQL and NATS.
import { status } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { common, events, foreignOffice } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { loadIdentity } from '@lotse/pki';
import { grpcError, rawClient, streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRequest, newcomerRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const S = foreignOffice.ForeignOfficeServiceService;
let t: ForeignOfficeUnderTest;
let raw: ReturnType<typeof rawClient>;
// The service's clock; undefined means the real time.
let clock: Date | undefined;
beforeAll(async () => {
  t = await startForeignOfficeFixture({ now: () => clock ?? new Date() });
  raw = rawClient(`127.0.0.1:${t.running.grpcPort}`, loadIdentity(t.pkiDir, t.foId));
});
afterAll(async () => {
  raw?.close();
  await t?.stop();
});

const fields = (error: Parameters<typeof fieldViolationsOf>[0]) => fieldViolationsOf(error).map((v) => v.field);
/** The encoded message with the first occurrence of `marker` replaced by raw bytes. */
function spliced(bytes: Uint8Array, marker: string, replacement: number[]): Buffer {
  const buffer = Buffer.from(bytes);
  const at = buffer.indexOf(marker);
  if (at < 0) throw new Error(`marker ${marker} not in message`);
  return Buffer.concat([buffer.subarray(0, at), Buffer.from(replacement), buffer.subarray(at + marker.length)]);
}
/** A Timestamp field appended to an encoded message (protobuf allows fields in any order). */
function withTimestamp(bytes: Uint8Array, fieldNo: number, seconds: bigint, nanos: number): Buffer {
  const ts = new BinaryWriter().tag(1, 0).int64(seconds).tag(2, 0).int32(nanos).finish();
  return Buffer.concat([Buffer.from(bytes), new BinaryWriter().tag(fieldNo, 2).bytes(ts).finish()]);
}

describe('invalid UTF-8', () => {
  it('in a name → INVALID_ARGUMENT naming given_names; nothing stored', async () => {
    const before = [await t.count('newcomer'), await t.count('idempotency')];
    const bytes = spliced(foreignOffice.RegisterNewcomerRequest.encode(newcomerRequest({ givenNames: 'AmiraXX' })).finish(), 'XX', [0xc3, 0x28]);
    const outcome = await raw.unary(S.registerNewcomer.path, bytes);
    expect(outcome.code).toBe(status.INVALID_ARGUMENT);
    expect(fields(outcome.error!)).toEqual(['given_names']);
    expect(outcome.details).toBe('given_names: must be valid UTF-8');
    expect([await t.count('newcomer'), await t.count('idempotency')]).toEqual(before);
  });

  it('in a list entry names the entry; a real U+FFFD sent as valid UTF-8 is not mistaken for it', async () => {
    const bytes = spliced(foreignOffice.RegisterNewcomerRequest.encode(newcomerRequest({ languages: ['ar', 'XX'] })).finish(), 'XX', [0xed, 0xa0, 0x80]);
    const outcome = await raw.unary(S.registerNewcomer.path, bytes);
    expect(fields(outcome.error!)).toEqual(['languages[1]']);
    // U+FFFD itself is valid UTF-8: what the handler's own rules say of it is another matter.
    const replacement = await grpcError(t.fo.registerNewcomer(newcomerRequest({ languages: ['ar', '\ufffd'] })));
    expect(fields(replacement)).toEqual(['languages[1]']);
    expect(replacement.details).not.toContain('UTF-8');
  });
});

describe('the NUL character', () => {
  it('valid UTF-8 that PostgreSQL cannot store → INVALID_ARGUMENT naming the field, also in a list filter', async () => {
    const error = await grpcError(t.fo.listReferrals({ newcomerId: 'a\u0000b', status: 0, pageSize: 0, pageToken: '' }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe('newcomer_id: must not contain the NUL character');
  });
});

describe('field violations are capped', () => {
  it('10,000 bad list entries → the first 20 and a count, in small trailers', async () => {
    const newcomer = await t.register();
    const before = await t.count('consent');
    const recipients = Array.from({ length: 10_000 }, (_, i) => `Not An Agency ${i}`);
    const error = await grpcError(t.fo.recordConsent(consentRequest(newcomer.newcomerId, { recipients })));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    const violations = fieldViolationsOf(error);
    expect(violations).toHaveLength(21);
    expect(violations[0]!.field).toBe('recipients');
    // 10,000 bad entries and one for the list's length: 20 listed, the rest counted.
    expect(violations.at(-1)).toEqual({ field: '', description: '9981 more violations not listed' });
    expect(error.details).toMatch(/; and 9981 more violations$/);
    const raw = Buffer.from(error.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(raw.length + Buffer.byteLength(error.details)).toBeLessThan(8 * 1024);
    expect(await t.count('consent')).toBe(before);
  });

  it('10,000 unknown enum values, refused at the edge, are capped the same way', async () => {
    const newcomer = await t.register();
    const purposes = Array.from({ length: 10_000 }, (_, i) => 1000 + i);
    const outcome = await raw.unary(S.recordConsent.path, foreignOffice.RecordConsentRequest.encode(consentRequest(newcomer.newcomerId, { purposes })).finish());
    expect(outcome.code).toBe(status.INVALID_ARGUMENT);
    const violations = fieldViolationsOf(outcome.error!);
    expect(violations.slice(0, 2)).toEqual([
      { field: 'purposes[0]', description: 'unknown value 1000' },
      { field: 'purposes[1]', description: 'unknown value 1001' },
    ]);
    expect(violations.at(-1)!.description).toBe('9980 more violations not listed');
    expect(outcome.trailerBytes).toBeLessThan(8 * 1024);
  });
});

describe('error messages stay small', () => {
  it('an 80 KB id → NOT_FOUND at once, quoting only its start (the whole of it broke the client connection)', async () => {
    const error = await grpcError(t.fo.getNewcomer({ newcomerId: 'x'.repeat(80_000) }, { deadlineMs: 5000 }));
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.details.length).toBeLessThan(200);
    expect((await t.fo.getConsentText({ language: 'de', textVersion: '' })).language).toBe('de');
  });
});

describe('timestamps are range-checked', () => {
  const consentBytes = async () => foreignOffice.RecordConsentRequest.encode(consentRequest((await t.register()).newcomerId)).finish();
  it.each([
    ['the year 3,000,000', 94_600_000_000_000n, 0, 'expires_at: must lie between the years 1900 and 2200'],
    ['the year 1800', -5_364_662_400n, 0, 'expires_at: must lie between the years 1900 and 2200'],
    ['nanos of 2e9', 1_900_000_000n, 2_000_000_000, 'expires_at: must have nanos between 0 and 999999999'],
    ['negative nanos', 1_900_000_000n, -1, 'expires_at: must have nanos between 0 and 999999999'],
  ])('an expiry in %s → INVALID_ARGUMENT naming expires_at', async (_, seconds, nanos, message) => {
    const bytes = withTimestamp(await consentBytes(), 6, seconds, nanos);
    const before = await t.count('consent');
    const outcome = await raw.unary(S.recordConsent.path, bytes);
    expect(outcome.code).toBe(status.INVALID_ARGUMENT);
    expect(outcome.details).toBe(message);
    expect(await t.count('consent')).toBe(before);
  });

  it('the last second of 2200 is accepted', async () => {
    const outcome = await raw.unary(S.recordConsent.path, withTimestamp(await consentBytes(), 6, 7_289_654_399n, 999_999_999));
    expect(outcome.code).toBe(status.OK);
  });
});

describe('unknown enum values', () => {
  it('in a list filter → INVALID_ARGUMENT naming status, not an empty list', async () => {
    const error = await grpcError(t.fo.listReferrals({ newcomerId: '', status: 99 as common.ReferralStatus, pageSize: 0, pageToken: '' }));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe('status: unknown value 99');
  });

  it('a negative one as well (ten-byte varint)', async () => {
    const error = await grpcError(t.fo.registerNewcomer(newcomerRequest({ residenceStatus: -5 as foreignOffice.ResidenceStatus })));
    expect(fields(error)).toEqual(['residence_status']);
  });
});

describe('an undecodable body', () => {
  it.each([
    ['a length running past the end', [0x0a, 0xff, 0x01, 0x41]],
    ['wire type 7', [0x0f]],
    ['a truncated varint', [0x08, 0xff]],
    ['an end-group tag with no start', [0x0c]],
  ])('%s → INVALID_ARGUMENT, not INTERNAL', async (_, bytes) => {
    const before = await t.count('newcomer');
    const outcome = await raw.unary(S.registerNewcomer.path, Uint8Array.from(bytes));
    expect(outcome.code).toBe(status.INVALID_ARGUMENT);
    expect(outcome.details).toBe('the request is not an encoded lotse.foreign_office.v1.RegisterNewcomerRequest');
    expect(await t.count('newcomer')).toBe(before);
  });
});

describe('dates that depend on today are German dates', () => {
  it('just after midnight in Berlin, a birth that day is not in the future (UTC still says yesterday)', async () => {
    clock = new Date('2026-12-31T23:30:00Z'); // 00:30 on 1 January 2027 in Berlin
    try {
      const newcomer = await t.register({ birthDate: '2027-01-01' });
      expect(newcomer.birthDate).toBe('2027-01-01');
      const error = await grpcError(t.fo.registerNewcomer(newcomerRequest({ birthDate: '2027-01-02' })));
      expect(error.details).toBe('birth_date: must not be in the future');
    } finally {
      clock = undefined;
    }
  });

  it('in summer time too (UTC+2)', async () => {
    clock = new Date('2026-06-30T22:30:00Z'); // 00:30 on 1 July in Berlin
    try {
      expect((await t.register({ birthDate: '2026-07-01' })).birthDate).toBe('2026-07-01');
    } finally {
      clock = undefined;
    }
  });

  it('a newcomer turns 27 at midnight in Berlin: the referral routes as an adult', async () => {
    const newcomer = await t.register({ birthDate: '2000-01-01' });
    await t.consent(newcomer.newcomerId);
    clock = new Date('2026-12-31T23:30:00Z');
    try {
      const { referral } = await t.fo.requestReferral({
        requestId: `ref-${uuidv7()}`,
        newcomerId: newcomer.newcomerId,
        purpose: common.Purpose.PURPOSE_MIGRATION_COUNSELLING,
        consentId: '',
        preferredProviderId: '',
      });
      const requested = await waitFor(
        async () =>
          (await streamEvents(t.nats, t.foId))
            .filter((e) => e.envelope.eventType === 'ReferralRequested')
            .map((e) => events.ReferralRequested.decode(e.envelope.payload))
            .find((r) => r.referralId === referral!.referralId),
        'ReferralRequested',
      );
      expect(requested?.ageGroup).toBe(common.AgeGroup.AGE_GROUP_ADULT);
    } finally {
      clock = undefined;
    }
  });
});
