// End to end: the whole journey, started as the README does (`pnpm start`) on the real PostgreSQL
// and nats-server: the foreign office registers and records consent, the hub routes to a
// migration service, the provider accepts and counsels and refers on to the job centre, which
// accepts, fetches the consented data, registers the customer, decides language-course funding,
// agrees a cooperation plan, records a placement and closes — and the hub's timeline shows every
// step in order, each within a second of the caseworker's decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { berlinDate } from '@lotse/grpc';
import { common, foreignOffice as fo, jobCentre as jc, lotsenhaus as hub, migrationServices as ms } from '@lotse/contracts';
import { retrying, waitFor, type RunningNetwork, startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';

const { ReferralStatus: S, Purpose, DataCategory } = common;
// Dates as the services judge them: the calendar in Germany, not UTC's.
const today = () => berlinDate(new Date());
const inDays = (n: number) => berlinDate(new Date(Date.now() + n * 86_400_000));

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let home: string;

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  ({ network, home } = setup);
}, 300_000);

afterAll(async () => {
  await setup?.remove();
}, 60_000);

describe('the journey from the foreign office to a placement at the job centre', () => {
  it('ends in a placement, with every step on the hub timeline in order, each within a second', async () => {
    const foClient = network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
    const hubClient = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    const provider = network.client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, 'caritas-rhein-mosel-ahr');
    const jobCentre = network.client<jc.JobCentreServiceClient>(jc.JobCentreServiceClient, 'jobcenter-mayen-koblenz');

    const { newcomer } = await retrying(() =>
      foClient.registerNewcomer({
        requestId: 'ptp-reg',
        givenNames: 'Yusuf',
        familyName: 'Karimi',
        birthDate: '1991-04-12',
        nationality: 'AF',
        languages: ['fa', 'de'],
        municipality: 'mayen',
        residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE,
      }),
    );
    const caseRef = newcomer!.caseRef;
    await foClient.recordConsent({
      requestId: 'ptp-consent',
      newcomerId: newcomer!.newcomerId,
      recipients: ['migration-services', 'job-centre'],
      purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION],
      dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES],
      textVersion: 'mbe-einwilligung-2026-01',
      language: 'fa',
      interpreterUsed: true,
      expiresAt: undefined,
    });
    const { referral } = await foClient.requestReferral({ requestId: 'ptp-referral', newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });

    const timeline = async () => (await hubClient.getCaseTimeline({ caseRef })).entries;
    const until = (type: string, what: string) => waitFor(async () => (await timeline().catch(() => [])).some((e) => e.eventType === type), 15_000, what);

    await until('ReferralReceived', 'the provider to receive the referral');
    await provider.acceptReferral({ requestId: 'ptp-accept', referralId: referral!.referralId });
    await provider.fetchNewcomerData({ requestId: 'ptp-fetch', referralId: referral!.referralId });
    await provider.recordFirstContact({ requestId: 'ptp-contact', referralId: referral!.referralId, contactDate: today(), channel: common.ContactChannel.CONTACT_CHANNEL_IN_PERSON, interpreterUsed: true });

    // A pair no agreement connects is refused at the sender, naming the field; nothing is sent.
    await expect(
      provider.requestReferral({ requestId: 'ptp-bad', referralId: referral!.referralId, caseRef: '', purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, type: common.ReferralType.REFERRAL_TYPE_REFERRAL, recipientType: 'job-centre' }),
    ).rejects.toMatchObject({ code: 3, details: expect.stringContaining('recipient_type') });

    const { referral: onward } = await provider.requestReferral({
      requestId: 'ptp-onward',
      referralId: referral!.referralId,
      caseRef: '',
      purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
      type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
      recipientType: 'job-centre',
    });
    await waitFor(async () => (await jobCentre.listReferrals({ status: 0, pageSize: 0, pageToken: '' })).referrals.some((r) => r.referralId === onward!.referralId), 15_000, 'the job centre to receive the onward referral');
    const jcReferral = onward!.referralId;
    await jobCentre.acceptReferral({ requestId: 'ptp-jc-accept', referralId: jcReferral });
    const { newcomer: data } = await jobCentre.fetchNewcomerData({ requestId: 'ptp-jc-fetch', referralId: jcReferral });
    expect(data!.givenNames).toBe('Yusuf');
    const { customer } = await jobCentre.registerCustomer({ requestId: 'ptp-jc-register', referralId: jcReferral, customerNumber: '123A456789', bgNumber: '', benefitsStart: today() });
    const customerId = customer!.customerId;
    await jobCentre.decideLanguageCourseFunding({
      requestId: 'ptp-jc-funding',
      customerId,
      assessedLevel: jc.CefrLevel.CEFR_LEVEL_A2,
      targetLevel: jc.CefrLevel.CEFR_LEVEL_B1,
      decision: jc.FundingDecision.FUNDING_DECISION_APPROVED,
      refusalReason: 0,
      courseStart: inDays(14),
    });
    await jobCentre.agreeCooperationPlan({
      requestId: 'ptp-jc-plan',
      customerId,
      planDate: today(),
      goals: ['Berufssprachkurs B1 abschließen', 'Arbeit als Elektriker'],
      steps: [
        { description: 'Kurs besuchen', dueDate: inDays(30), responsible: jc.StepResponsible.STEP_RESPONSIBLE_CUSTOMER, partnerAgencyId: '' },
        { description: 'Stellenangebote senden', dueDate: inDays(20), responsible: jc.StepResponsible.STEP_RESPONSIBLE_JOB_CENTRE, partnerAgencyId: '' },
      ],
    });
    await jobCentre.recordPlacement({ requestId: 'ptp-jc-placement', customerId, type: jc.PlacementType.PLACEMENT_TYPE_JOB, reference: 'AG-4711', startDate: today(), endDate: '' });
    await jobCentre.closeCase({ requestId: 'ptp-jc-close', customerId, outcome: jc.CaseOutcome.CASE_OUTCOME_EMPLOYED, closedOn: today() });

    await until('JobCentreCaseClosed', 'the closed job centre case on the hub timeline');
    const entries = await timeline();
    expect(entries.map((e) => e.eventType)).toEqual([
      'ReferralRequested',
      'ReferralRouted',
      'ReferralReceived',
      'ReferralAccepted',
      'NewcomerDataReceived',
      'FirstContactRecorded',
      'ReferralRequested',
      'ReferralRouted',
      'ReferralReceived',
      'ReferralAccepted',
      'NewcomerDataReceived',
      'CustomerRegistered',
      'LanguageCourseFundingDecided',
      'CooperationPlanAgreed',
      'PlacementRecorded',
      'JobCentreCaseClosed',
    ]);
    expect(entries.map((e) => e.agencyId)).toEqual([
      'kv-mayen-koblenz', 'lotsenhaus', 'caritas-rhein-mosel-ahr', 'caritas-rhein-mosel-ahr', 'caritas-rhein-mosel-ahr', 'caritas-rhein-mosel-ahr',
      'caritas-rhein-mosel-ahr', 'lotsenhaus', 'jobcenter-mayen-koblenz', 'jobcenter-mayen-koblenz', 'jobcenter-mayen-koblenz', 'jobcenter-mayen-koblenz',
      'jobcenter-mayen-koblenz', 'jobcenter-mayen-koblenz', 'jobcenter-mayen-koblenz', 'jobcenter-mayen-koblenz',
    ]);
    for (const e of entries) expect(e.traceId).toMatch(/^[0-9a-f]{32}$/);
    // From each caseworker decision (the event's time at its agency) to its entry at the hub.
    const lags = entries.map((e) => ({ type: e.eventType, ms: e.recordedAt!.getTime() - e.occurredAt!.getTime() }));
    process.stdout.write(`[journey-to-placement] decision → hub timeline (ms): ${lags.map((l) => `${l.type}=${l.ms}`).join(', ')}\n`);
    for (const lag of lags) expect(lag.ms, lag.type).toBeLessThan(1000);

    const { cases } = await hubClient.listCases(hub.ListCasesRequest.fromPartial({ municipality: 'mayen', agencyId: 'jobcenter-mayen-koblenz' }));
    expect(cases.find((c) => c.caseRef === caseRef)?.status).toBe(S.REFERRAL_STATUS_ACCEPTED);
  }, 180_000);
});
