// End to end: the referral workflow's other paths, on the network started as the README says
// (`pnpm start`, here on the real PostgreSQL and a real nats-server), driven over gRPC the way
// caseworkers drive it — a provider declines and the hub re-routes; the sender withdraws a
// referral (pending and accepted) or the newcomer's consent; nobody answers and the hub escalates;
// a provider without capacity is skipped; a provider refers on to the Lotsenhaus one-stop desk;
// and a referral no cooperation agreement allows is refused at the sender, writing nothing. Each
// path is checked on the hub's case timeline and case list and in the agencies' own state.
// This file: declines and re-routes, capacity, withdrawals by the sender and by consent, expiry;
// the one-stop desk and the refusal are in referral-paths-onward.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { common, lotsenhaus as hub } from '@lotse/contracts';
import { waitFor } from '../src/network-process.js';
import { DeclineReason, FAILED_PRECONDITION, InboxStatus, IntakeStatus, Purpose, ReferralType, S, acceptedCounselling, atForeignOffice, expiryMs, foreignOffice, hubClient, inboxOf, intakeOf, jobCentre, names, network, newcomerWithConsent, provider, providers, refusal, requestCounselling, steps, timelineWhen, typesOf, useReferralNetwork } from './support/referral-paths-network.js';

useReferralNetwork();

describe('referral paths through the running network', () => {
  it('a decline with a coded reason is confirmed by the hub and re-routed to the next suitable provider, which accepts', async () => {
    // Adults in Koblenz: two providers' agreements cover them (Caritas Koblenz, AWO Rheinland).
    const koblenzAdults = ['awo-rheinland', 'caritas-koblenz'];
    const person = await newcomerWithConsent('decline', { municipality: 'koblenz' });
    const referral = await requestCounselling('decline', person.newcomerId);

    const routed = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived'), 'the first provider to receive the referral');
    const first = routed.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    expect(koblenzAdults).toContain(first);
    const other = koblenzAdults.find((p) => p !== first)!;
    expect((await inboxOf(first, referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);

    const { referral: declined } = await provider(first).declineReferral({ requestId: 'rp-decline', referralId: referral.referralId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(declined).toMatchObject({ status: InboxStatus.INBOX_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });

    const rerouted = await timelineWhen(person.caseRef, (t) => steps(t).filter((e) => e.eventType === 'ReferralReceived').length === 2, 'the re-routed referral to arrive at the next provider');
    expect(typesOf(rerouted)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralDeclined', 'ReferralRouted', 'ReferralReceived']);
    const [, , , decline, reroute, received] = steps(rerouted);
    expect(decline).toMatchObject({ agencyId: first, referralId: referral.referralId, summary: `Declined by ${names.get(first)}: DECLINE_REASON_NO_CAPACITY` });
    expect(reroute).toMatchObject({ agencyId: 'lotsenhaus', summary: `Decline confirmed; re-routed to ${names.get(other)} (cooperation agreement)` });
    expect(received!.agencyId).toBe(other);
    expect(rerouted.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, currentAgencyId: other, referralId: referral.referralId });

    // The provider that declined keeps its decision and cannot take the referral back.
    expect(await inboxOf(first, referral.referralId)).toMatchObject({ status: InboxStatus.INBOX_STATUS_DECLINED, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect((await refusal(provider(first).acceptReferral({ requestId: 'rp-decline-late-accept', referralId: referral.referralId }))).code).toBe(FAILED_PRECONDITION);
    // The foreign office follows the re-routing.
    await waitFor(async () => (await atForeignOffice(person.newcomerId, referral.referralId))?.providerId === other, 15_000, 'the foreign office to see the new provider');
    expect((await atForeignOffice(person.newcomerId, referral.referralId))!.status).toBe(S.REFERRAL_STATUS_PENDING);

    // The next provider accepts.
    expect((await inboxOf(other, referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);
    await provider(other).acceptReferral({ requestId: 'rp-decline-accept', referralId: referral.referralId });
    const accepted = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the acceptance at the hub');
    expect(steps(accepted).at(-1)).toMatchObject({ eventType: 'ReferralAccepted', agencyId: other });
    expect(accepted.caseSummary!.currentAgencyId).toBe(other);
    await waitFor(async () => (await atForeignOffice(person.newcomerId, referral.referralId))?.status === S.REFERRAL_STATUS_ACCEPTED, 15_000, 'the foreign office to see the acceptance');
    expect((await atForeignOffice(person.newcomerId, referral.referralId))!.providerId).toBe(other);
  });

  it('skips a provider without free counselling slots, says so on the timeline, and routes to it again once it has capacity', async () => {
    const full = 'caritas-koblenz';
    const capacityOf = async (id: string) => (await hubClient.listProviders({})).providers.find((p) => p.providerId === id)!.capacity;
    expect(await provider(full).setCapacity({ requestId: 'rp-capacity-0', freeCounsellingSlots: 0 })).toEqual({ freeCounsellingSlots: 0 });
    try {
      await waitFor(async () => (await capacityOf(full))[0]?.free === 0, 15_000, 'the hub to learn the provider is full');
      expect(await capacityOf(full)).toEqual([expect.objectContaining({ kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 0 })]);

      // The newcomer chose the full provider: without capacity it is skipped, the other Koblenz provider takes it.
      const person = await newcomerWithConsent('capacity', { municipality: 'koblenz' });
      const referral = await requestCounselling('capacity', person.newcomerId, full);
      const t = await timelineWhen(person.caseRef, (x) => x.entries.some((e) => e.eventType === 'ReferralReceived'), 'routing past the full provider');
      expect(typesOf(t)).toEqual(['ReferralRequested', 'ProviderSkipped', 'ReferralRouted', 'ReferralReceived']);
      expect(steps(t)[1]).toMatchObject({ agencyId: 'lotsenhaus', referralId: referral.referralId, summary: `Skipped ${full}: no free counselling slots` });
      expect(steps(t)[2]!.summary).toBe(`Routed to ${names.get('awo-rheinland')} (cooperation agreement)`);
      expect(t.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, currentAgencyId: 'awo-rheinland' });
      expect((await inboxOf('awo-rheinland', referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);
      expect(await inboxOf(full, referral.referralId)).toBeUndefined();
      await provider('awo-rheinland').acceptReferral({ requestId: 'rp-capacity-accept', referralId: referral.referralId });
    } finally {
      // Restored whatever happened above: the other paths route to this provider too.
      await provider(full).setCapacity({ requestId: 'rp-capacity-restore', freeCounsellingSlots: 10 });
      await waitFor(async () => (await capacityOf(full))[0]?.free === 10, 15_000, 'the hub to learn the provider has capacity again');
    }

    // With slots again, the newcomer's choice is honoured and nothing is skipped.
    const again = await newcomerWithConsent('capacity-again', { municipality: 'koblenz' });
    const referral = await requestCounselling('capacity-again', again.newcomerId, full);
    const t = await timelineWhen(again.caseRef, (x) => x.entries.some((e) => e.eventType === 'ReferralReceived'), 'routing to the chosen provider');
    expect(typesOf(t)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralReceived']);
    expect(steps(t)[1]!.summary).toBe(`Routed to ${names.get(full)} (newcomer's choice)`);
    expect(t.caseSummary!.currentAgencyId).toBe(full);
    await provider(full).acceptReferral({ requestId: 'rp-capacity-again-accept', referralId: referral.referralId });
  });

  it('the sender withdraws a referral it made, pending and accepted: the hub closes it, the recipient inbox shows it closed, a later accept is refused', async () => {
    const person = await newcomerWithConsent(
      'withdraw',
      { municipality: 'mayen' },
      { recipients: ['migration-services', 'job-centre'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] },
    );
    const counselling = await acceptedCounselling('withdraw', person.newcomerId, person.caseRef);
    expect(counselling.providerId).toBe('caritas-rhein-mosel-ahr'); // adults in Mayen
    const mbe = provider(counselling.providerId);
    const jcId = 'jobcenter-mayen-koblenz';
    const onward = (key: string) =>
      mbe.requestReferral({
        requestId: `rp-onward-${key}`,
        referralId: counselling.referralId,
        caseRef: '',
        purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
        type: ReferralType.REFERRAL_TYPE_REFERRAL,
        recipientType: 'job-centre',
      });

    // 1. Withdrawn while pending at the job centre.
    const { referral: pending } = await onward('pending');
    await waitFor(async () => (await intakeOf(jcId, pending!.referralId))?.status === IntakeStatus.INTAKE_STATUS_PENDING, 15_000, 'the job centre to receive the onward referral');
    await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived' && e.referralId === pending!.referralId), 'the hub to hear the job centre received it');
    const { referral: withdrawn } = await mbe.withdrawReferral({ requestId: 'rp-withdraw-pending', referralId: pending!.referralId });
    expect(withdrawn).toMatchObject({ referralId: pending!.referralId, status: S.REFERRAL_STATUS_WITHDRAWN, recipientType: 'job-centre' });

    const closed = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'the withdrawal at the hub');
    expect(closed.caseSummary).toMatchObject({ referralId: pending!.referralId, currentAgencyId: counselling.providerId, escalated: false });
    expect(steps(closed).at(-1)).toMatchObject({
      eventType: 'ReferralWithdrawnByReferrer',
      agencyId: counselling.providerId,
      referralId: pending!.referralId,
      summary: `Referral withdrawn by ${names.get(counselling.providerId)}`,
    });
    await waitFor(async () => (await intakeOf(jcId, pending!.referralId))?.status === IntakeStatus.INTAKE_STATUS_WITHDRAWN, 15_000, "the job centre's intake to show it withdrawn");
    expect((await refusal(jobCentre(jcId).acceptReferral({ requestId: 'rp-jc-accept-withdrawn', referralId: pending!.referralId }))).code).toBe(FAILED_PRECONDITION);
    // Withdrawn once; a second withdrawal is refused, and the counselling referral it came from stays open.
    expect((await refusal(mbe.withdrawReferral({ requestId: 'rp-withdraw-pending-again', referralId: pending!.referralId }))).code).toBe(FAILED_PRECONDITION);
    expect((await inboxOf(counselling.providerId, counselling.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_ACCEPTED);

    // 2. Withdrawn after the job centre accepted it.
    const { referral: second } = await onward('accepted');
    await waitFor(async () => (await intakeOf(jcId, second!.referralId))?.status === IntakeStatus.INTAKE_STATUS_PENDING, 15_000, 'the job centre to receive the second onward referral');
    await jobCentre(jcId).acceptReferral({ requestId: 'rp-jc-accept', referralId: second!.referralId });
    await timelineWhen(person.caseRef, (t) => t.caseSummary!.referralId === second!.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the acceptance at the hub');
    await mbe.withdrawReferral({ requestId: 'rp-withdraw-accepted', referralId: second!.referralId });
    const closedAfterAccept = await timelineWhen(
      person.caseRef,
      (t) => t.caseSummary!.referralId === second!.referralId && t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN,
      'the withdrawal of the accepted referral at the hub',
    );
    expect(typesOf(closedAfterAccept)).toEqual([
      ...['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted'], // counselling, from the foreign office
      ...['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralWithdrawnByReferrer'], // on to the job centre, withdrawn pending
      ...['ReferralRequested', 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'ReferralWithdrawnByReferrer'], // again, withdrawn accepted
    ]);
    expect(steps(closedAfterAccept).at(-1)).toMatchObject({ eventType: 'ReferralWithdrawnByReferrer', referralId: second!.referralId });
    await waitFor(async () => (await intakeOf(jcId, second!.referralId))?.status === IntakeStatus.INTAKE_STATUS_WITHDRAWN, 15_000, "the job centre's intake to show the accepted referral withdrawn");
    // Closed at the job centre: nothing more is done under it.
    expect((await refusal(jobCentre(jcId).fetchNewcomerData({ requestId: 'rp-jc-fetch-withdrawn', referralId: second!.referralId }))).code).toBe(FAILED_PRECONDITION);
    expect((await refusal(jobCentre(jcId).acceptReferral({ requestId: 'rp-jc-accept-again', referralId: second!.referralId }))).code).toBe(FAILED_PRECONDITION);
  });

  it('the newcomer revokes consent at the foreign office while a referral is pending: closed at the hub and in the inbox, a later accept is refused', async () => {
    const person = await newcomerWithConsent('revoke', { municipality: 'andernach' });
    const referral = await requestCounselling('revoke', person.newcomerId);
    const routed = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived'), 'the provider to receive the referral');
    const providerId = routed.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    expect(providerId).toBe('caritas-rhein-mosel-ahr'); // adults in Andernach

    await foreignOffice.withdrawConsent({ requestId: 'rp-revoke', consentId: person.consentId, newcomerId: '', reason: '' });
    const closed = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN && t.entries.some((e) => e.eventType === 'ConsentWithdrawn'), 'the withdrawal at the hub');
    expect(closed.entries.find((e) => e.eventType === 'ConsentWithdrawn')).toMatchObject({ agencyId: 'kv-mayen-koblenz', summary: expect.stringContaining('1 referral(s) closed') });
    await waitFor(async () => (await inboxOf(providerId, referral.referralId))?.status === InboxStatus.INBOX_STATUS_WITHDRAWN, 15_000, "the provider's inbox to show it withdrawn");
    expect((await refusal(provider(providerId).acceptReferral({ requestId: 'rp-revoke-accept', referralId: referral.referralId }))).code).toBe(FAILED_PRECONDITION);
    expect((await atForeignOffice(person.newcomerId, referral.referralId))!.status).toBe(S.REFERRAL_STATUS_WITHDRAWN);
  });

  it('a referral nobody answers expires after the configured time and is escalated, in the case list and on the timeline', async () => {
    const person = await newcomerWithConsent('expire', { municipality: 'pellenz' });
    const referral = await requestCounselling('expire', person.newcomerId);
    const routed = await timelineWhen(person.caseRef, (t) => t.entries.some((e) => e.eventType === 'ReferralReceived'), 'the provider to receive the referral');
    const providerId = routed.entries.find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    const routedAt = routed.entries.find((e) => e.eventType === 'ReferralRouted')!.occurredAt!;

    const escalated = await timelineWhen(person.caseRef, (t) => t.caseSummary!.escalated, 'the hub to escalate the unanswered referral', expiryMs + 20_000);
    const step = escalated.entries.find((e) => e.eventType === 'ReferralEscalated')!;
    expect(step).toMatchObject({ agencyId: 'lotsenhaus', referralId: referral.referralId, summary: `Referral expired: not answered by ${names.get(providerId)} in time; escalated to the coordination` });
    // Not before the configured time.
    expect(step.occurredAt!.getTime() - routedAt.getTime()).toBeGreaterThanOrEqual(expiryMs);
    // Still waiting on the provider: escalated, not closed.
    expect(escalated.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_PENDING, currentAgencyId: providerId, escalated: true });
    expect((await inboxOf(providerId, referral.referralId))?.status).toBe(InboxStatus.INBOX_STATUS_PENDING);

    // The case list: the filter finds it, and holds exactly the escalated cases.
    const all = (await hubClient.listCases(hub.ListCasesRequest.fromPartial({ pageSize: 500 }))).cases;
    const onlyEscalated = (await hubClient.listCases(hub.ListCasesRequest.fromPartial({ escalatedOnly: true, pageSize: 500 }))).cases;
    expect(onlyEscalated.map((c) => c.caseRef)).toContain(person.caseRef);
    expect(onlyEscalated.map((c) => c.caseRef).sort()).toEqual(all.filter((c) => c.escalated).map((c) => c.caseRef).sort());
    expect(all.some((c) => !c.escalated)).toBe(true);
    const mine = (await hubClient.listCases(hub.ListCasesRequest.fromPartial({ escalatedOnly: true, status: S.REFERRAL_STATUS_PENDING, agencyId: providerId, municipality: 'pellenz' }))).cases;
    expect(mine.find((c) => c.caseRef === person.caseRef)).toMatchObject({ escalated: true, referralId: referral.referralId });
    // Escalated once, however often the hub checks.
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await hubClient.getCaseTimeline({ caseRef: person.caseRef })).entries.filter((e) => e.eventType === 'ReferralEscalated')).toHaveLength(1);

    // A late answer is still taken; answered, the case no longer counts as escalated (the step stays on the timeline).
    await provider(providerId).acceptReferral({ requestId: 'rp-expire-late-accept', referralId: referral.referralId });
    const accepted = await timelineWhen(person.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_ACCEPTED, 'the late acceptance at the hub');
    expect(accepted.caseSummary!.escalated).toBe(false);
    expect(accepted.entries.filter((e) => e.eventType === 'ReferralEscalated')).toHaveLength(1);
  });
});
