// Integration tier: what the foreign office discloses to other agencies (only on the hub's word
// that a referral is with them, only the consented categories, every request logged) and who may
// call it at all, on the real PostgreSQL and NATS, over gRPC with mTLS.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { common, foreignOffice } from '@lotse/contracts';
import { createClient } from '@lotse/grpc';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { announceReferralWith, grpcError, randomId } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRequest, newcomerRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, DataCategory, ReferralStatus } = common;
const { ResidenceStatus } = foreignOffice;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(() => t?.stop());

describe('foreign office (integration: PostgreSQL, NATS, gRPC over mTLS)', () => {
  describe('disclosure to other agencies and who may call', () => {
    it('gives a consented provider only the granted categories and logs every request', async () => {
      const newcomer = await t.register({ givenNames: 'محمد', familyName: 'الخطيب', nationality: 'SY', languages: ['ar', 'ku'] });
      const consent = (await t.fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
      const logged = () =>
        t.db.selectFrom('data_access_log').selectAll().where('case_ref', '=', newcomer.caseRef).orderBy('id').execute();

      // Only once the hub says a referral of the case is with caritas (accepted) does anything leave.
      await t.referredTo(newcomer.caseRef, t.caritasId);
      const disclosed = await t.caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });
      expect(disclosed).toMatchObject({
        caseRef: newcomer.caseRef,
        consentId: consent.consentId,
        legalBasis: `consent:${consent.consentId}`,
        grantedCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
        givenNames: 'محمد',
        familyName: 'الخطيب',
        birthDate: newcomer.birthDate,
        languages: ['ar', 'ku'],
        nationality: '',
        residenceStatus: ResidenceStatus.RESIDENCE_STATUS_UNSPECIFIED,
        municipality: '',
      });
      let log = await logged();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ caller_agency_id: t.caritasId, outcome: 'granted', legal_basis: `consent:${consent.consentId}`, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING });

      // Asking for more than was granted returns the intersection only.
      const narrowed = await t.caritas.discloseNewcomerData({
        caseRef: newcomer.caseRef,
        purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
        categories: [DataCategory.DATA_CATEGORY_NATIONALITY, DataCategory.DATA_CATEGORY_LANGUAGES],
        referralId: '',
      });
      expect(narrowed).toMatchObject({ grantedCategories: [DataCategory.DATA_CATEGORY_LANGUAGES], languages: ['ar', 'ku'], nationality: '', givenNames: '', birthDate: '' });

      const denied = await grpcError(t.jobCentre.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }));
      expect(denied.code).toBe(status.PERMISSION_DENIED);
      expect(denied.details).not.toContain('محمد');

      log = await logged();
      expect(log.map((r) => [r.caller_agency_id, r.outcome])).toEqual([
        [t.caritasId, 'granted'],
        [t.caritasId, 'granted'],
        [t.jobCentreId, 'denied'],
      ]);
      expect(log[1]!.categories).toEqual([DataCategory.DATA_CATEGORY_LANGUAGES]);
      expect(log[2]!.legal_basis).toBeNull();
    });

    it('a referral re-routed to the caller after a decline: UNAVAILABLE while the office still has it with the provider that declined, granted once the word arrives', async () => {
      const newcomer = await t.register();
      await t.fo.recordConsent(consentRequest(newcomer.newcomerId));
      const declinedBy = randomId('awo-test');
      const announce = (providerId: string, referralStatus: common.ReferralStatus, known?: typeof t.db) =>
        announceReferralWith(t.nats, { hubId: t.hubId, ownerId: t.foId, caseRef: newcomer.caseRef, providerId, referralId, status: referralStatus }, known);
      const referralId = uuidv7();
      // The office knows the first routing only: the re-route to caritas (and caritas' acceptance)
      // are still on their way, a hop behind the ReferralRouted that caritas already acted on.
      await announce(declinedBy, ReferralStatus.REFERRAL_STATUS_PENDING, t.db);
      const ask = () => t.caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId });
      const early = await grpcError(ask());
      // Not refused for good (the owner clients retry UNAVAILABLE), and the other deployment is not named.
      expect(early.code).toBe(status.UNAVAILABLE);
      expect(early.details).not.toContain(declinedBy);
      expect(early.details).not.toContain(newcomer.familyName);
      const refusal = await t.db.selectFrom('data_access_log').select(['caller_agency_id', 'outcome']).where('case_ref', '=', newcomer.caseRef).execute();
      expect(refusal).toEqual([{ caller_agency_id: t.caritasId, outcome: 'denied' }]);

      await announce(t.caritasId, ReferralStatus.REFERRAL_STATUS_PENDING);
      await announce(t.caritasId, ReferralStatus.REFERRAL_STATUS_ACCEPTED, t.db);
      expect((await ask()).familyName).toBe(newcomer.familyName);
    });

    it("refuses caseworker calls with another agency's certificate and writes nothing", async () => {
      const before = await t.count('newcomer');
      const error = await grpcError(t.caritas.registerNewcomer(newcomerRequest()));
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(await t.count('newcomer')).toBe(before);

      const existing = await t.register();
      const read = await grpcError(t.caritas.getNewcomer({ newcomerId: existing.newcomerId }));
      expect(read.code).toBe(status.PERMISSION_DENIED);
      const list = await grpcError(t.jobCentre.listReferrals({ newcomerId: '', status: 0, pageSize: 0, pageToken: '' }));
      expect(list.code).toBe(status.PERMISSION_DENIED);
    });

    it("refuses a certificate for the foreign office's own id from another CA", async () => {
      const rogueDir = await mkdtemp(join(tmpdir(), 'lotse-fo-rogue-'));
      try {
        await ensureDevPki(rogueDir, [{ id: t.foId, agencyType: 'foreign-office' }]);
        const rogue = loadIdentity(rogueDir, t.foId);
        // Trusts the real CA (so the server is accepted) but presents a certificate it did not sign.
        const client = createClient(foreignOffice.ForeignOfficeServiceClient, `127.0.0.1:${t.running.grpcPort}`, { ...rogue, ca: await readFile(join(t.pkiDir, 'ca.crt')) });
        try {
          const before = await t.count('newcomer');
          const error = await grpcError(client.registerNewcomer(newcomerRequest(), { deadlineMs: 3000 }));
          expect(error.code).toBe(status.UNAVAILABLE);
          expect(await t.count('newcomer')).toBe(before);
        } finally {
          client.close();
        }
      } finally {
        await rm(rogueDir, { recursive: true, force: true });
      }
    });
  });
});
