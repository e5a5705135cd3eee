// The referral workflow at the hub, against the real PostgreSQL and NATS: a decline is confirmed
// and re-routed (never to a provider that declined), a provider without capacity is skipped, the
// referrer withdraws, an unanswered referral escalates, a provider refers on to a job centre
// whose steps appear on the timeline, and the case list filters.
import { common, events, eventTypeOf, jobCentreEvents, lotsenhaus } from '@lotse/contracts';
import { eventSubject } from '@lotse/messaging';
import { streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkflowFixture, type WorkflowHubUnderTest } from './support/hub-fixture.js';

const { AgeGroup, ReferralStatus: S, Purpose, DeclineReason, CapacityKind } = common;

let wf: WorkflowHubUnderTest;
beforeAll(async () => {
  wf = await startWorkflowFixture();
});
afterAll(() => wf?.stop());

describe('the referral workflow at the hub', () => {
  it('lists the cooperation agreements', async () => {
    const { agreements } = await wf.client.listAgreements({});
    expect(agreements).toContainEqual({ senderType: 'migration-services', recipientType: 'job-centre', purposes: [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, Purpose.PURPOSE_LANGUAGE_COURSE] });
  });

  it('confirms a decline and re-routes to the next provider, never back; none left → unroutable', async () => {
    const msg = await wf.request('andernach');
    const first = await wf.waitTimelineWhere(msg.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const firstProvider = first.caseSummary!.currentAgencyId;
    const other = firstProvider === wf.mbeA ? wf.mbeB : wf.mbeA;
    await wf.publish(firstProvider, events.ReferralDeclined, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: firstProvider, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, declinedAt: new Date() }, msg.caseRef);
    const rerouted = await wf.waitTimelineWhere(msg.caseRef, (t) => t.caseSummary!.currentAgencyId === other, 're-routing');
    expect(rerouted.caseSummary!.status).toBe(S.REFERRAL_STATUS_PENDING);
    expect(rerouted.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralDeclined', 'ReferralRouted']);
    expect(rerouted.entries[3]!.summary).toMatch(/^Decline confirmed; re-routed to MBE/);
    // The re-route commits with its outbox row; the relay publishes it a moment later.
    const routedOf = async () => (await streamEvents(wf.nats, wf.hubId)).filter((e) => e.envelope.eventType === eventTypeOf(events.ReferralRouted) && events.ReferralRouted.decode(e.envelope.payload).referralId === msg.referralId);
    const routed = await waitFor(async () => {
      const found = await routedOf();
      return found.length >= 2 ? found : undefined;
    }, 'both ReferralRouted on the stream');
    expect(routed.map((e) => e.subject)).toEqual([eventSubject(wf.hubId, 'ReferralRouted', firstProvider), eventSubject(wf.hubId, 'ReferralRouted', other)]);
    // A late decline from the first provider changes nothing; the second declines too → unroutable.
    await wf.publish(other, events.ReferralDeclined, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: other, reason: DeclineReason.DECLINE_REASON_OTHER, declinedAt: new Date() }, msg.caseRef);
    const done = await wf.waitTimelineWhere(msg.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_UNROUTABLE, 'unroutable');
    expect(done.entries.at(-1)!.summary).toMatch(/every provider .* has declined/);
  });

  it('skips a provider without free counselling slots, and the timeline says so', async () => {
    await wf.publish(wf.mbeA, events.CapacityChanged, { providerId: wf.mbeA, kind: CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 0, changedAt: new Date() }, '');
    await waitFor(async () => (await wf.client.listProviders({})).providers.find((p) => p.providerId === wf.mbeA)?.capacity[0]?.free === 0, 'capacity to arrive');
    for (let i = 0; i < 2; i++) {
      const msg = await wf.request('mayen');
      const t = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
      expect(t.caseSummary!.currentAgencyId).toBe(wf.mbeB);
      expect(t.entries.map((e) => e.summary)).toContain(`Skipped ${wf.mbeA}: no free counselling slots`);
    }
    await wf.publish(wf.mbeA, events.CapacityChanged, { providerId: wf.mbeA, kind: CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 3, changedAt: new Date() }, '');
    await waitFor(async () => (await wf.client.listProviders({})).providers.find((p) => p.providerId === wf.mbeA)?.capacity[0]?.free === 3, 'capacity to return');
  });

  it('closes a referral its referrer withdraws, and tells the provider', async () => {
    const msg = await wf.request('mendig');
    const t = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const provider = t.caseSummary!.currentAgencyId;
    await wf.publish(wf.foId, events.ReferralWithdrawnByReferrer, { referralId: msg.referralId, caseRef: msg.caseRef, referrerAgencyId: wf.foId, withdrawnAt: new Date() }, msg.caseRef);
    const closed = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'withdrawal');
    expect(closed.entries.at(-1)!.summary).toBe('Referral withdrawn by Test-ABH');
    const withdrawn = await waitFor(async () => {
      const found = (await streamEvents(wf.nats, wf.hubId)).filter((e) => e.subject === eventSubject(wf.hubId, 'ReferralWithdrawn', provider));
      return found.map((e) => events.ReferralWithdrawn.decode(e.envelope.payload)).find((w) => w.referralId === msg.referralId);
    }, 'ReferralWithdrawn to the provider');
    expect(withdrawn.consentId).toBe('');
  });

  it('refers on from a provider to the job centre, shows the job centre steps, and refuses a pair no agreement connects', async () => {
    const msg = await wf.request('andernach');
    const t = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const provider = t.caseSummary!.currentAgencyId;
    await wf.publish(provider, events.ReferralAccepted, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: provider, acceptedAt: new Date() }, msg.caseRef);
    const onward = events.ReferralRequested.fromPartial({
      referralId: uuidv7(),
      caseRef: msg.caseRef,
      referrerAgencyId: provider,
      purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
      consentId: msg.consentId,
      requestedAt: new Date(),
      type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
      recipientType: 'job-centre',
      ownerAgencyId: wf.foId,
      sourceReferralId: msg.referralId,
    });
    await wf.publish(provider, events.ReferralRequested, onward, msg.caseRef);
    const atJc = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.currentAgencyId === wf.jcId, 'routing to the job centre');
    expect(atJc.caseSummary).toMatchObject({ referralId: onward.referralId, municipality: 'andernach', status: S.REFERRAL_STATUS_PENDING });
    const routed = await waitFor(async () => {
      const found = (await streamEvents(wf.nats, wf.hubId)).filter((e) => e.subject === eventSubject(wf.hubId, 'ReferralRouted', wf.jcId));
      return found.map((e) => events.ReferralRouted.decode(e.envelope.payload)).find((r) => r.referralId === onward.referralId);
    }, 'ReferralRouted to the job centre');
    expect(routed).toMatchObject({ ownerAgencyId: wf.foId, referrerAgencyId: provider, ageGroup: AgeGroup.AGE_GROUP_ADULT });

    await wf.publish(wf.jcId, events.ReferralAccepted, { referralId: onward.referralId, caseRef: msg.caseRef, providerId: wf.jcId, acceptedAt: new Date() }, msg.caseRef);
    await wf.publish(wf.jcId, jobCentreEvents.CustomerRegistered, { caseRef: msg.caseRef, jobCentreId: wf.jcId, customerId: 'cu-1', referralId: onward.referralId, registeredAt: new Date() }, msg.caseRef);
    await wf.publish(wf.jcId, jobCentreEvents.PlacementRecorded, { caseRef: msg.caseRef, jobCentreId: wf.jcId, customerId: 'cu-1', placementId: 'p-1', type: 3, startDate: '2026-12-01', endDate: '', recordedAt: new Date() }, msg.caseRef);
    await wf.publish(wf.jcId, events.ReferralCompleted, { referralId: onward.referralId, caseRef: msg.caseRef, providerId: wf.jcId, outcome: common.ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED, completedAt: new Date() }, msg.caseRef);
    const done = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_COMPLETED, 'completion');
    expect(done.entries.map((e) => e.eventType).slice(-6)).toEqual(['ReferralRequested', 'ReferralRouted', 'ReferralAccepted', 'CustomerRegistered', 'PlacementRecorded', 'ReferralCompleted']);
    expect(done.entries.at(-2)!.summary).toBe('Placement recorded: job from 2026-12-01');

    // The job centre may not refer to migration services: no agreement connects them.
    const refused = events.ReferralRequested.fromPartial({ ...onward, referralId: uuidv7(), referrerAgencyId: wf.jcId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, recipientType: 'migration-services' });
    await wf.publish(wf.jcId, events.ReferralRequested, refused, msg.caseRef);
    const unroutable = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.referralId === refused.referralId && x.caseSummary!.status === S.REFERRAL_STATUS_UNROUTABLE, 'refusal');
    expect(unroutable.entries.at(-1)!.summary).toMatch(/no cooperation agreement lets job-centre refer to migration-services/);
  });

  it('escalates a referral not answered in time, visibly in the case list and on the timeline', async () => {
    const msg = await wf.request('mayen');
    await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const t = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.escalated, 'escalation');
    expect(t.entries.at(-1)).toMatchObject({ eventType: 'ReferralEscalated' });
    expect(t.entries.at(-1)!.summary).toMatch(/^Referral expired: not answered by MBE . in time; escalated/);
    const { cases } = await wf.listCases({ escalatedOnly: true });
    expect(cases.map((c) => c.caseRef)).toContain(msg.caseRef);
    expect(cases.every((c) => c.escalated)).toBe(true);
  });

  it('filters the case list by status, agency, municipality and waiting time in working days', async () => {
    const msg = await wf.request('mendig');
    const t = await wf.waitTimelineWhere(msg.caseRef, (x) => x.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 'routing');
    const mine = (r: lotsenhaus.ListCasesResponse) => r.cases.map((c) => c.caseRef).includes(msg.caseRef);
    expect(mine(await wf.listCases({ status: S.REFERRAL_STATUS_PENDING, municipality: 'mendig', agencyId: t.caseSummary!.currentAgencyId }))).toBe(true);
    expect(mine(await wf.listCases({ municipality: 'mayen' }))).toBe(false);
    expect(mine(await wf.listCases({ waitingLongerThanWorkingDays: 5 }))).toBe(false);
    wf.clock.offsetMs = 8 * 86_400_000; // eight calendar days later: at least five working days
    expect(mine(await wf.listCases({ status: S.REFERRAL_STATUS_PENDING, waitingLongerThanWorkingDays: 5 }))).toBe(true);
    expect(mine(await wf.listCases({ waitingLongerThanWorkingDays: 7 }))).toBe(false);
    wf.clock.offsetMs = 0;
    await expect(wf.listCases({ waitingLongerThanWorkingDays: 1000 })).rejects.toMatchObject({ code: 3 });
  });
});
