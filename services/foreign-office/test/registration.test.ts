// Integration tier: the foreign office booted in-process through its composition root, against
// the real PostgreSQL and NATS JetStream, called over real gRPC with mTLS. Fresh database,
// agency ids and streams per file, so runs never see each other's data. This file: what a
// registration keeps, bad input, and retries under one request id.
import { status, type ServiceError } from '@grpc/grpc-js';
import { foreignOffice } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { fieldViolationsOf } from '@lotse/grpc';
import { grpcError, randomId } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRequest, newcomerRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(() => t?.stop());

const fieldsOf = (error: ServiceError) => fieldViolationsOf(error).map((v) => v.field);

describe('foreign office (integration: PostgreSQL, NATS, gRPC over mTLS)', () => {
  it('keeps names in Arabic, Cyrillic and with umlauts byte-for-byte', async () => {
    const names = [
      { givenNames: 'محمد', familyName: 'الأحمد' },
      { givenNames: 'Олена', familyName: 'Шевченко' },
      // Composed and decomposed umlauts: the service must not normalise what it was given.
      { givenNames: 'Jürgen', familyName: 'Größe Ju\u0308rgensen' },
    ];
    for (const name of names) {
      const registered = await t.register(name);
      const { newcomer } = await t.fo.getNewcomer({ newcomerId: registered.newcomerId });
      for (const field of ['givenNames', 'familyName'] as const) {
        expect(Buffer.from(newcomer![field], 'utf8').equals(Buffer.from(name[field], 'utf8'))).toBe(true);
      }
      const row = await t.db.selectFrom('newcomer').select(['given_names', 'family_name']).where('newcomer_id', '=', registered.newcomerId).executeTakeFirstOrThrow();
      expect(row).toEqual({ given_names: name.givenNames, family_name: name.familyName });
    }
    // The 200-character limit counts characters, not UTF-8 bytes.
    const long = await t.register({ familyName: 'ö'.repeat(200) });
    expect((await t.fo.getNewcomer({ newcomerId: long.newcomerId })).newcomer!.familyName).toBe('ö'.repeat(200));
  });

  describe('bad input writes nothing', () => {
    const nextYear = `${new Date().getUTCFullYear() + 1}-01-15`;
    const cases: [string, Partial<foreignOffice.RegisterNewcomerRequest>, string][] = [
      ['empty given names', { givenNames: '   ' }, 'given_names'],
      ['a family name of 201 characters', { familyName: 'x'.repeat(201) }, 'family_name'],
      ['a birth date in the future', { birthDate: nextYear }, 'birth_date'],
      ['a birth date that does not exist', { birthDate: '2026-02-30' }, 'birth_date'],
      ['an unknown residence status', { residenceStatus: 99 as foreignOffice.ResidenceStatus }, 'residence_status'],
      ['no languages', { languages: [] }, 'languages'],
      ['a nationality that is no ISO code', { nationality: 'Syria' }, 'nationality'],
    ];

    it.each(cases)('RegisterNewcomer with %s → INVALID_ARGUMENT naming the field', async (_, overrides, field) => {
      const [newcomers, idempotency] = [await t.count('newcomer'), await t.count('idempotency')];
      const error = await grpcError(t.fo.registerNewcomer(newcomerRequest(overrides)));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(error)).toEqual([field]);
      expect(await t.count('newcomer')).toBe(newcomers);
      expect(await t.count('idempotency')).toBe(idempotency);
    });

    // Every bad field the service's rules find, at once. (An enum number the .proto does not
    // define is refused earlier, at the edge, with the other wire-level problems.)
    it('names every bad field of one request at once', async () => {
      const before = await t.count('newcomer');
      const idempotencyBefore = await t.count('idempotency');
      const error = await grpcError(
        t.fo.registerNewcomer(
          newcomerRequest({ givenNames: '', familyName: 'x'.repeat(201), birthDate: '2026-02-30', nationality: 'syr', languages: [], residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_UNSPECIFIED }),
        ),
      );
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(new Set(fieldsOf(error))).toEqual(new Set(['given_names', 'family_name', 'birth_date', 'nationality', 'languages', 'residence_status']));
      expect(await t.count('newcomer')).toBe(before);
      expect(await t.count('idempotency')).toBe(idempotencyBefore);
    });

    it('refuses a consent without purpose, for an unknown newcomer or already expired', async () => {
      const newcomer = await t.register();
      const before = await t.count('consent');

      const noPurpose = await grpcError(t.fo.recordConsent(consentRequest(newcomer.newcomerId, { purposes: [] })));
      expect(noPurpose.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(noPurpose)).toEqual(['purposes']);

      const unknown = await grpcError(t.fo.recordConsent(consentRequest(uuidv7())));
      expect(unknown.code).toBe(status.NOT_FOUND);
      expect(unknown.details).toContain('newcomer_id');

      const expired = await grpcError(t.fo.recordConsent(consentRequest(newcomer.newcomerId, { expiresAt: new Date(Date.now() - 60_000) })));
      expect(expired.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(expired)).toEqual(['expires_at']);

      expect(await t.count('consent')).toBe(before);
    });
  });

  describe('idempotency', () => {
    it('a retry with the same request id returns the first newcomer and creates one row', async () => {
      const request = newcomerRequest({ givenNames: 'Idem', familyName: randomId('Potent') });
      const first = (await t.fo.registerNewcomer(request)).newcomer!;
      const second = (await t.fo.registerNewcomer(request)).newcomer!;
      expect(second).toEqual(first);
      // Concurrent retries too (the advisory lock serialises them on the pooled connection).
      const concurrent = await Promise.all(Array.from({ length: 5 }, () => t.fo.registerNewcomer(request)));
      for (const { newcomer } of concurrent) expect(newcomer!.newcomerId).toBe(first.newcomerId);
      expect(await t.count('newcomer', sql`family_name = ${request.familyName}`)).toBe(1);
    });

    it('the same request id with other content → INVALID_ARGUMENT naming request_id', async () => {
      const request = newcomerRequest({ familyName: randomId('Reuse') });
      await t.fo.registerNewcomer(request);
      const error = await grpcError(t.fo.registerNewcomer({ ...request, givenNames: 'Someone Else' }));
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(fieldsOf(error)).toEqual(['request_id']);
      expect(await t.count('newcomer', sql`family_name = ${request.familyName}`)).toBe(1);
      expect(await t.count('newcomer', sql`given_names = 'Someone Else'`)).toBe(0);
    });
  });
});
