// Integration tier: referral requests at the foreign office (the consent they need, the thin
// event that goes to the hub, the languages it may carry), on the real PostgreSQL and NATS, over
// gRPC with mTLS.
import { status } from '@grpc/grpc-js';
import { common, envelope, events, foreignOffice } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { streamName } from '@lotse/messaging';
import { grpcError, randomId, sleep, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const { Purpose, DataCategory, ReferralStatus, AgeGroup } = common;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(() => t?.stop());

const foStreamMessages = async () => (await t.nats.jsm.streams.info(streamName(t.foId))).state.messages;

describe('foreign office (integration: PostgreSQL, NATS, gRPC over mTLS)', () => {
  describe('referral requests', () => {
    it('without a consent for migration counselling → PERMISSION_DENIED, and nothing moves', async () => {
      const newcomer = await t.register();
      // A consent for another purpose is no basis for this one.
      await t.fo.recordConsent(consentRequest(newcomer.newcomerId, { recipients: ['job-centre'], purposes: [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] }));
      const [referrals, outbox, messages] = [await t.count('referral'), await t.count('outbox'), await foStreamMessages()];

      const error = await grpcError(
        t.fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
      );
      expect(error.code).toBe(status.PERMISSION_DENIED);

      // Longer than the relay's poll interval (500 ms): had anything been enqueued, it would be out by now.
      await sleep(700);
      expect(await t.count('referral')).toBe(referrals);
      expect(await t.count('outbox')).toBe(outbox);
      expect(await foStreamMessages()).toBe(messages);
    });

    it('with consent → a REQUESTED referral and one thin ReferralRequested event; a retry adds nothing', async () => {
      const name = { givenNames: 'Олена', familyName: randomId('Коваль'), birthDate: '1985-03-09' };
      const newcomer = await t.register(name);
      const consent = (await t.fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
      const messagesBefore = await foStreamMessages();
      const outboxBefore = await t.count('outbox');

      const request: foreignOffice.RequestReferralRequest = {
        requestId: `ref-${uuidv7()}`,
        newcomerId: newcomer.newcomerId,
        purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
        consentId: '',
        preferredProviderId: '',
      };
      const { referral } = await t.fo.requestReferral(request);
      expect(referral).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_REQUESTED, consentId: consent.consentId, caseRef: newcomer.caseRef });

      const row = await t.referralRow(referral!.referralId);
      expect(row).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_REQUESTED, newcomer_id: newcomer.newcomerId, consent_id: consent.consentId, provider_id: null });

      const subject = `lotse.${t.foId}.referral-requested`;
      // The stream's t.count may move for another event first (one relayed late from an earlier
      // test): wait for this referral's own event under its subject.
      const stored = await waitFor(async () => {
        const last = await t.nats.jsm.streams.getMessage(streamName(t.foId), { last_by_subj: subject }).catch(() => null);
        return last && envelope.Envelope.decode(last.data).caseRef === newcomer.caseRef ? last : undefined;
      }, 'the referral event in the stream');
      const env = envelope.Envelope.decode(stored!.data);
      expect(env).toMatchObject({ eventType: 'ReferralRequested', producerAgencyId: t.foId, caseRef: newcomer.caseRef, schemaVersion: 1 });
      expect(stored!.header.get('Nats-Msg-Id')).toBe(env.eventId);
      const event = events.ReferralRequested.decode(env.payload);
      expect(event).toMatchObject({
        referralId: referral!.referralId,
        caseRef: newcomer.caseRef,
        referrerAgencyId: t.foId,
        purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
        consentId: consent.consentId,
        consentedRecipients: ['migration-services'],
        municipality: 'andernach',
        ageGroup: AgeGroup.AGE_GROUP_ADULT,
      });
      // Thin event: no personal data on the wire, in any encoding.
      const raw = Buffer.from(stored!.data);
      for (const personal of [name.givenNames, name.familyName, name.birthDate, newcomer.newcomerId]) {
        expect(raw.includes(Buffer.from(personal, 'utf8'))).toBe(false);
      }
      // The relay marks the row once the broker acknowledged it, which may come after the stream has it.
      await waitFor(
        async () => (await t.db.selectFrom('outbox').select('published_at').where('event_id', '=', env.eventId).executeTakeFirstOrThrow()).published_at !== null,
        'the outbox row marked published',
      );

      // Retry: the first answer, no second referral, no second event.
      const retry = await t.fo.requestReferral(request);
      expect(retry.referral).toEqual(referral);
      await sleep(700);
      expect(await t.count('referral', sql`newcomer_id = ${newcomer.newcomerId}`)).toBe(1);
      expect(await t.count('outbox')).toBe(outboxBefore + 1);
      expect(await foStreamMessages()).toBe(messagesBefore + 1);
    });
  });

  describe('the languages the newcomer speaks, for routing', () => {
    const subject = () => `lotse.${t.foId}.referral-requested`;
    /** The ReferralRequested of a case as it went out on the wire (NATS), once the relay published it. */
    async function publishedReferral(caseRef: string) {
      const row = await waitFor(
        async () => {
          const found = await t.db.selectFrom('outbox').selectAll().where('case_ref', '=', caseRef).where('event_type', '=', 'ReferralRequested').executeTakeFirst();
          return found?.published_at ? found : undefined;
        },
        'the referral event published',
      );
      const stored = await t.nats.jsm.streams.getMessage(streamName(t.foId), { last_by_subj: subject() });
      const env = envelope.Envelope.decode(stored!.data);
      expect(env.eventId).toBe(row.event_id);
      return events.ReferralRequested.decode(env.payload);
    }
    const requestFor = (newcomerId: string, consentId = '') =>
      t.fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId, preferredProviderId: '' });

    it('go to the hub on the referral event, as registered, when the consent grants the category', async () => {
      const newcomer = await t.register({ languages: ['uk', 'ru'] });
      await t.fo.recordConsent(consentRequest(newcomer.newcomerId));
      const { referral } = await requestFor(newcomer.newcomerId);
      const event = await publishedReferral(newcomer.caseRef);
      expect(event).toMatchObject({ referralId: referral!.referralId, municipality: 'andernach', ageGroup: AgeGroup.AGE_GROUP_ADULT, languages: ['uk', 'ru'] });
      // On record as an export of the languages with the other routing facts, on the consent.
      const audit = await t.db.selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'export').execute();
      expect(audit.map((r: any) => r.categories)).toEqual([[DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]]);
    });

    it('stay at the foreign office when the consent does not grant the category: the referral goes without them', async () => {
      const newcomer = await t.register({ languages: ['uk', 'ru'] });
      const consent = (await t.fo.recordConsent(consentRequest(newcomer.newcomerId, { dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY] }))).consent!;
      const { referral } = await requestFor(newcomer.newcomerId);
      const event = await publishedReferral(newcomer.caseRef);
      expect(event).toMatchObject({ referralId: referral!.referralId, consentId: consent.consentId, municipality: 'andernach', languages: [] });
      const audit = await t.db.selectFrom('audit_log').selectAll().where('subject_ref', '=', newcomer.caseRef).where('action', '=', 'export').execute();
      expect(audit.map((r: any) => r.categories)).toEqual([[DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP]]);
    });

    it('nothing is published for a referral whose consent no longer covers it (withdrawn): PERMISSION_DENIED', async () => {
      const newcomer = await t.register({ languages: ['uk', 'ru'] });
      const consent = (await t.fo.recordConsent(consentRequest(newcomer.newcomerId))).consent!;
      await t.fo.withdrawConsent({ requestId: `wd-${uuidv7()}`, consentId: consent.consentId, newcomerId: '', reason: '' });
      // The withdrawal's own event out first, so that the counts below are settled.
      await waitFor(async () => (await t.count('outbox', sql`published_at is null`)) === 0, 'the outbox to drain');
      const [referrals, outbox, messages] = [await t.count('referral'), await t.count('outbox'), await foStreamMessages()];

      for (const consentId of [consent.consentId, '']) {
        const error = await grpcError(requestFor(newcomer.newcomerId, consentId));
        expect(error.code).toBe(status.PERMISSION_DENIED);
      }
      await sleep(700);
      expect(await t.count('referral')).toBe(referrals);
      expect(await t.count('outbox')).toBe(outbox);
      expect(await t.count('outbox', sql`case_ref = ${newcomer.caseRef} and event_type = 'ReferralRequested'`)).toBe(0);
      expect(await foStreamMessages()).toBe(messages);
    });
  });
});
