// End to end, on the network `pnpm start` runs (real PostgreSQL, real nats-server): a provider
// refers on to the Lotsenhaus one-stop desk; a referral no cooperation agreement allows is refused
// at the sender, writing nothing. The other paths (and the expiry, which needs their cases beside
// its own) are in referral-paths.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import type { ServiceError } from '@grpc/grpc-js';
import { common, jobCentre as jc, lotsenhaus as hub, oneStop } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { waitFor } from '../src/network-process.js';
import { FAILED_PRECONDITION, INVALID_ARGUMENT, OfferKind, OneStopReferralStatus, Purpose, ReferralType, S, acceptedCounselling, count, desk, foreignOffice, hubClient, jobCentre, names, network, newcomerWithConsent, provider, refusal, steps, timelineWhen, useReferralNetwork } from './support/referral-paths-network.js';

useReferralNetwork();

describe('referral paths through the running network', () => {
  it('a migration service refers on to the Lotsenhaus one-stop desk, which takes the case in and assesses competences, on the hub timeline', async () => {
    const { agreements } = await hubClient.listAgreements({});
    expect(agreements.find((a) => a.senderType === 'migration-services' && a.recipientType === 'lotsenhaus')?.purposes).toContain(Purpose.PURPOSE_COMPETENCE_ASSESSMENT);

    const person = await newcomerWithConsent(
      'desk',
      { municipality: 'andernach' },
      // The foreign office records consents only for purposes it may disclose data for; the
      // Lotsenhaus is named as a recipient, and the hub routes to it by that.
      { recipients: ['migration-services', 'lotsenhaus'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING] },
    );
    const counselling = await acceptedCounselling('desk', person.newcomerId, person.caseRef);
    const mbe = provider(counselling.providerId);
    const toDesk = async (key: string) =>
      (
        await mbe.requestReferral({
          requestId: `rp-desk-${key}`,
          referralId: counselling.referralId,
          caseRef: '',
          purpose: Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
          type: ReferralType.REFERRAL_TYPE_REFERRAL,
          recipientType: 'lotsenhaus',
        })
      ).referral!;
    const atDesk = async (referralId: string) => (await desk.listOneStopReferrals({ status: 0 })).referrals.find((r) => r.referralId === referralId);

    // Withdrawn by its sender before the newcomer came to the desk: the desk cannot take it in.
    const early = await toDesk('withdrawn');
    await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived' && e.referralId === early.referralId), 'the hub to route the first referral to the desk');
    await waitFor(async () => (await atDesk(early.referralId)) !== undefined, 15_000, 'the desk to receive the first referral');
    await mbe.withdrawReferral({ requestId: 'rp-desk-withdraw', referralId: early.referralId });
    await timelineWhen(person.caseRef, (t) => t.caseSummary!.referralId === early.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'the withdrawal at the hub');
    const refused = await refusal(desk.recordIntake({ requestId: 'rp-desk-intake-withdrawn', caseRef: person.caseRef, referralId: early.referralId, needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT], noteCodes: [] }));
    expect(refused.code).toBe(FAILED_PRECONDITION);
    expect(refused.details).toContain('withdrawn by its referrer');
    // The desk's list shows it withdrawn, not waiting.
    await waitFor(async () => (await atDesk(early.referralId))?.status === OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_WITHDRAWN, 15_000, 'the desk to close the withdrawn referral');
    const waiting = (await desk.listOneStopReferrals({ status: OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING })).referrals;
    expect(waiting.map((r) => r.referralId)).not.toContain(early.referralId);
    expect((await hubClient.getCaseTimeline({ caseRef: person.caseRef })).caseSummary!.status).toBe(S.REFERRAL_STATUS_WITHDRAWN);

    // Referred again: routed to the desk, taken in, competences assessed.
    const referral = await toDesk('assessment');
    await waitFor(async () => (await atDesk(referral.referralId))?.status === OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_PENDING, 15_000, 'the desk to receive the referral');
    expect(await atDesk(referral.referralId)).toMatchObject({ caseRef: person.caseRef, referrerAgencyId: counselling.providerId, purpose: Purpose.PURPOSE_COMPETENCE_ASSESSMENT });
    const pending = await timelineWhen(person.caseRef, (t) => t.caseSummary!.referralId === referral.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'the referral pending at the desk');
    expect(pending.caseSummary!.currentAgencyId).toBe('lotsenhaus');

    const { intake } = await desk.recordIntake({ requestId: 'rp-desk-intake', caseRef: person.caseRef, referralId: referral.referralId, needs: [OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT], noteCodes: ['INTERPRETER_AR'] });
    expect(intake).toMatchObject({ caseRef: person.caseRef, referralId: referral.referralId });
    const { assessment } = await desk.recordCompetenceAssessment({
      requestId: 'rp-desk-assessment',
      caseRef: person.caseRef,
      consentId: person.consentId,
      qualifications: [{ titleCode: 'ISCO-7411', country: 'SY', recognition: oneStop.RecognitionStatus.RECOGNITION_STATUS_PENDING }],
      workExperience: [{ fieldCode: 'ISCO-7411', years: 6 }],
      languages: [
        { code: 'ar', level: oneStop.CefrLevel.CEFR_LEVEL_C2 },
        { code: 'de', level: oneStop.CefrLevel.CEFR_LEVEL_A2 },
      ],
    });
    expect((await desk.getCompetenceAssessment({ caseRef: person.caseRef })).assessment!.assessmentId).toBe(assessment!.assessmentId);
    expect((await atDesk(referral.referralId))?.status).toBe(OneStopReferralStatus.ONE_STOP_REFERRAL_STATUS_ACCEPTED);

    const done = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'CompetenceAssessed') && t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the desk steps on the hub timeline');
    const deskSteps = steps(done).filter((e) => e.referralId === referral.referralId || e.eventType === 'CompetenceAssessed');
    expect(deskSteps.map((e) => [e.eventType, e.agencyId])).toEqual([
      ['ReferralRequested', counselling.providerId],
      ['ReferralRouted', 'lotsenhaus'],
      ['ReferralReceived', 'lotsenhaus'],
      ['ReferralAccepted', 'lotsenhaus'],
      ['IntakeRecorded', 'lotsenhaus'],
      ['CompetenceAssessed', 'lotsenhaus'],
    ]);
    expect(deskSteps[1]!.summary).toBe(`Routed to ${names.get('lotsenhaus')} (cooperation agreement)`);
    // The withdrawn one was never taken in.
    expect(steps(done).filter((e) => e.referralId === early.referralId).map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralWithdrawnByReferrer']);
    expect(done.caseSummary).toMatchObject({ referralId: referral.referralId, currentAgencyId: 'lotsenhaus', status: S.REFERRAL_STATUS_ACCEPTED });
  });

  it('refuses a referral between agency types no cooperation agreement connects, naming the field, and writes nothing', async () => {
    const person = await newcomerWithConsent(
      'no-agreement',
      { municipality: 'koblenz' },
      { recipients: ['migration-services', 'job-centre', 'lotsenhaus'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] },
    );
    const counselling = await acceptedCounselling('no-agreement', person.newcomerId, person.caseRef);
    const mbe = provider(counselling.providerId);
    const before = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the acceptance at the hub');
    const fieldsOf = (error: ServiceError) => fieldViolationsOf(error).map((v) => v.field);
    const bad = (recipientType: string, purpose: common.Purpose, requestId: string) =>
      refusal(mbe.requestReferral({ requestId, referralId: counselling.referralId, caseRef: '', purpose, type: ReferralType.REFERRAL_TYPE_REFERRAL, recipientType }));

    // Migration services to migration services: no agreement at all.
    const sideways = await bad('migration-services', Purpose.PURPOSE_MIGRATION_COUNSELLING, 'rp-bad-sideways');
    expect(sideways.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(sideways)).toEqual(['recipient_type']);
    expect(sideways.details).toContain('no cooperation agreement lets migration-services refer to migration-services');
    // Migration services to the Lotsenhaus: agreed, but not for labour-market integration.
    const wrongPurpose = await bad('lotsenhaus', Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, 'rp-bad-purpose');
    expect(wrongPurpose.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(wrongPurpose)).toEqual(['recipient_type']);
    // A job centre to migration services: no agreement.
    const fromJc = await refusal(
      jobCentre('jobcenter-koblenz').requestReferral(
        jc.RequestReferralRequest.fromPartial({ requestId: 'rp-bad-jc', caseRef: person.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, type: ReferralType.REFERRAL_TYPE_REFERRAL, recipientType: 'migration-services' }),
      ),
    );
    expect(fromJc.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(fromJc)).toEqual(['recipient_type']);
    // The foreign office refers to migration counselling only.
    const fromFo = await refusal(foreignOffice.requestReferral({ requestId: 'rp-bad-fo', newcomerId: person.newcomerId, purpose: Purpose.PURPOSE_JOB_PLACEMENT, consentId: '', preferredProviderId: '' }));
    expect(fromFo.code).toBe(INVALID_ARGUMENT);
    expect(fieldsOf(fromFo)).toEqual(['purpose']);

    // Nothing written: no referral, no event at any sender; the hub saw nothing new.
    expect(await count(counselling.providerId, 'select count(*)::int as n from outgoing_referral where case_ref = $1', [person.caseRef])).toBe(0);
    expect(await count(counselling.providerId, "select count(*)::int as n from outbox where case_ref = $1 and event_type = 'ReferralRequested'", [person.caseRef])).toBe(0);
    expect(await count('jobcenter-koblenz', 'select count(*)::int as n from outgoing_referral where case_ref = $1', [person.caseRef])).toBe(0);
    expect(await count('jobcenter-koblenz', 'select count(*)::int as n from outbox where case_ref = $1', [person.caseRef])).toBe(0);
    expect(await count('kv-mayen-koblenz', 'select count(*)::int as n from referral where newcomer_id = $1', [person.newcomerId])).toBe(1);
    expect(await count('lotsenhaus', 'select count(*)::int as n from hub_referral where case_ref = $1', [person.caseRef])).toBe(1);
    const after = await hubClient.getCaseTimeline({ caseRef: person.caseRef });
    expect(after.entries.map((e) => e.eventId)).toEqual(before.entries.map((e) => e.eventId));
  });
});

