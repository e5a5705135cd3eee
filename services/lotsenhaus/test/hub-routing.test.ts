// Integration tier: the hub routes a referral by the cooperation agreements of its directory,
// tells the referrer, keeps the trace on the timeline, and keeps the languages out of spans, logs
// and events; on the real PostgreSQL and NATS JetStream, over gRPC with mTLS.
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { common, events } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { eventSubject } from '@lotse/messaging';
import { grpcError, waitFor } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubFixture, type HubUnderTest } from './support/hub-fixture.js';

const { AgeGroup, ReferralStatus, Purpose } = common;

let hub: HubUnderTest;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(() => hub?.stop());

describe('lotsenhaus hub (real PostgreSQL and NATS JetStream)', () => {
  it('routes an adult referral in Andernach to exactly the adult provider, tells the referrer, and keeps the trace on the timeline', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const { caseRef, referralId, eventId } = await hub.requestReferral({}, traceparent);

    const t = await hub.waitForTimeline(caseRef, 2);
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted']);
    expect(t.entries[0]!.eventId).toBe(eventId);
    expect(t.entries[0]!.agencyId).toBe(hub.referrerId);
    expect(t.entries[1]!.agencyId).toBe(hub.hubId);
    for (const entry of t.entries) {
      expect(entry.traceId).toBe(traceId);
      expect(entry.referralId).toBe(referralId);
    }
    expect(t.caseSummary).toMatchObject({
      caseRef,
      status: ReferralStatus.REFERRAL_STATUS_PENDING,
      currentAgencyId: hub.adultProviderId,
      referralId,
      municipality: 'andernach',
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
    });

    // The outbox relay publishes after the commit; both events are in the same transaction.
    const changes = await waitFor(async () => {
      const c = await hub.statusChanges(referralId);
      return c.length > 0 ? c : undefined;
    }, 'ReferralStatusChanged to the referrer');
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ referralId, caseRef, status: ReferralStatus.REFERRAL_STATUS_PENDING, providerId: hub.adultProviderId });

    const routed = await hub.routedEvents(referralId);
    expect(routed.map((e) => e.subject)).toEqual([eventSubject(hub.hubId, 'ReferralRouted', hub.adultProviderId)]);
    expect(routed[0]!.envelope.producerAgencyId).toBe(hub.hubId);
    expect(routed[0]!.envelope.caseRef).toBe(caseRef);
    expect(events.ReferralRouted.decode(routed[0]!.envelope.payload)).toMatchObject({
      referralId,
      caseRef,
      referrerAgencyId: hub.referrerId,
      providerId: hub.adultProviderId,
      purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
      ageGroup: AgeGroup.AGE_GROUP_ADULT,
      routingReason: 'agreement',
    });
    // The trace continues on the hop to the provider.
    expect(routed[0]!.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The timeline entry of the routing is the event the provider receives.
    expect(t.entries[1]!.eventId).toBe(routed[0]!.envelope.eventId);
  });

  it('routes a youth referral in Andernach to the youth provider', async () => {
    const { caseRef, referralId } = await hub.requestReferral({ ageGroup: AgeGroup.AGE_GROUP_YOUTH });
    const t = await hub.waitForTimeline(caseRef, 2);
    expect(t.caseSummary?.currentAgencyId).toBe(hub.youthProviderId);
    const routed = await waitFor(async () => {
      const r = await hub.routedEvents(referralId);
      return r.length ? r : undefined;
    }, 'ReferralRouted');
    expect(routed.map((e) => e.subject)).toEqual([eventSubject(hub.hubId, 'ReferralRouted', hub.youthProviderId)]);
  });

  it.each([
    { what: 'consent names no eligible provider', overrides: { consentedRecipients: ['job-centre'] }, note: /consent names none of the providers/ },
    { what: 'no agreement covers the municipality', overrides: { municipality: 'mayen' }, note: /no cooperation agreement covers mayen for AGE_GROUP_ADULT/ },
  ])('marks a referral UNROUTABLE when the $what, tells the referrer why, and routes nothing', async ({ overrides, note }) => {
    const { caseRef, referralId } = await hub.requestReferral(overrides);
    const t = await hub.waitForTimeline(caseRef, 2);
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralUnroutable']);
    expect(t.entries[1]!.summary).toMatch(note);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_UNROUTABLE, currentAgencyId: hub.referrerId });

    const changes = await waitFor(async () => {
      const c = await hub.statusChanges(referralId);
      return c.length > 0 ? c : undefined;
    }, 'ReferralStatusChanged UNROUTABLE');
    expect(changes).toHaveLength(1);
    expect(changes[0]!.status).toBe(ReferralStatus.REFERRAL_STATUS_UNROUTABLE);
    expect(changes[0]!.providerId).toBe('');
    expect(changes[0]!.note).toMatch(note);
    // Published in the same transaction as the status change, so it would be there by now.
    expect(await hub.routedEvents(referralId)).toEqual([]);
    const referral = await hub.running.ctx.db.selectFrom('hub_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirstOrThrow();
    expect(referral.provider_id).toBeNull();
  });

  it('routes on the languages spoken without putting them into span attributes, logs, the timeline or the routing event', async () => {
    // Codes nothing else in a trace or log line contains, so any trace of them is a leak.
    const languages = ['qaa', 'qtz'];
    const logsBefore = hub.logLines.length;
    const { caseRef, referralId } = await hub.requestReferral({ languages });
    const t = await hub.waitForTimeline(caseRef, 2);
    expect(t.caseSummary?.currentAgencyId).toBe(hub.adultProviderId);
    const stored = await hub.running.ctx.db.selectFrom('hub_referral').select('languages').where('referral_id', '=', referralId).executeTakeFirstOrThrow();
    expect(stored.languages).toEqual(languages);
    await waitFor(async () => (await hub.statusChanges(referralId)).length > 0, 'the routing to be published');

    const leaks = (where: string, text: string) => (languages.some((l) => text.includes(l)) || /"languages"/i.test(text) ? [`${where}: ${text}`] : []);
    const found = [
      ...hub.spans.getFinishedSpans().flatMap((span) => [
        ...leaks(`span ${span.name}`, JSON.stringify(span.attributes)),
        ...span.events.flatMap((e) => leaks(`span ${span.name} event ${e.name}`, JSON.stringify(e.attributes ?? {}))),
      ]),
      ...hub.logLines.slice(logsBefore).flatMap((line) => leaks('log', line)),
      ...t.entries.flatMap((e) => leaks(`timeline ${e.eventType}`, e.summary)),
      ...(await hub.routedEvents(referralId)).flatMap((e) => leaks('ReferralRouted', Buffer.from(e.envelope.payload).toString('latin1'))),
    ];
    // The spans of this referral's hops are there (the check looked at something) …
    expect(hub.spans.getFinishedSpans().some((s) => s.spanContext().traceId === t.entries[0]!.traceId)).toBe(true);
    // … and none of it carries the languages.
    expect(found).toEqual([]);
  });

  it('answers GetCaseTimeline with INVALID_ARGUMENT naming case_ref for an empty reference, NOT_FOUND for an unknown one', async () => {
    const invalid = await grpcError(hub.client.getCaseTimeline({ caseRef: '  ' }));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(invalid).map((v) => v.field)).toEqual(['case_ref']);

    const unknown = await grpcError(hub.client.getCaseTimeline({ caseRef: 'C-NOSUCHCASE' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain('case_ref');
  });
});
