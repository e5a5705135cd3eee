// The referral workflow at the hub, routing by languages, against the real PostgreSQL and NATS:
// in Koblenz the providers list the languages their staff speak; the hub routes by the
// newcomer's languages, first and on every re-route and onward referral, and erases them with
// the consent.
import { common, events } from '@lotse/contracts';
import { waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkflowFixture, type WorkflowHubUnderTest } from './support/hub-fixture.js';

const { ReferralStatus: S, Purpose, DeclineReason } = common;

let wf: WorkflowHubUnderTest;
beforeAll(async () => {
  wf = await startWorkflowFixture();
});
afterAll(() => wf?.stop());

describe('routing by the languages the newcomer speaks', () => {
  const { DataCategory } = common;
  const languagesOf = async (referralId: string) =>
    (await wf.running.ctx.db.selectFrom('hub_referral').select('languages').where('referral_id', '=', referralId).executeTakeFirstOrThrow()).languages;
  const pendingAt = (caseRef: string, referralId: string, what: string) =>
    wf.waitTimelineWhere(caseRef, (t) => t.caseSummary!.referralId === referralId && t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, what);
  const decline = (provider: string, msg: events.ReferralRequested) =>
    wf.publish(provider, events.ReferralDeclined, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: provider, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, declinedAt: new Date() }, msg.caseRef);

  const withdrawByReferrer = async (msg: events.ReferralRequested) => {
    await wf.publish(wf.foId, events.ReferralWithdrawnByReferrer, { referralId: msg.referralId, caseRef: msg.caseRef, referrerAgencyId: wf.foId, withdrawnAt: new Date() }, msg.caseRef);
    await wf.waitTimelineWhere(msg.caseRef, (t) => t.caseSummary!.status === S.REFERRAL_STATUS_WITHDRAWN, 'the referral closed');
  };

  it('routes a newcomer speaking uk to staff who speak uk rather than to a provider whose staff do not, also on re-routing', async () => {
    // Without languages (no consent to them), nothing waiting anywhere: the tie goes by id, to the Arabic-speaking provider.
    const plain = await wf.request('koblenz');
    expect((await pendingAt(plain.caseRef, plain.referralId, 'routing without languages')).caseSummary!.currentAgencyId).toBe(wf.kArabic);
    expect(await languagesOf(plain.referralId)).toEqual([]);
    await withdrawByReferrer(plain);

    const msg = await wf.request('koblenz', { languages: ['uk'] });
    const first = await pendingAt(msg.caseRef, msg.referralId, 'routing');
    expect(first.caseSummary!.currentAgencyId).toBe(wf.kUkrainian);
    expect(await languagesOf(msg.referralId)).toEqual(['uk']);
    // The timeline (readable by every agency of the network) keeps to municipality and age group.
    expect(first.entries[0]!.summary).toBe('Referral to migration counselling requested (koblenz, AGE_GROUP_ADULT)');

    // Declined: re-routed to the other provider whose staff speak uk, not to the Arabic-speaking one.
    await decline(wf.kUkrainian, msg);
    const rerouted = await wf.waitTimelineWhere(msg.caseRef, (t) => t.caseSummary!.currentAgencyId !== wf.kUkrainian && t.caseSummary!.status === S.REFERRAL_STATUS_PENDING, 're-routing');
    expect(rerouted.caseSummary!.currentAgencyId).toBe(wf.kUkrainian2);

    // Declined there too: no uk-speaking provider is left, so the one left takes it rather than nobody.
    await decline(wf.kUkrainian2, msg);
    const last = await wf.waitTimelineWhere(msg.caseRef, (t) => t.caseSummary!.currentAgencyId === wf.kArabic, 'the last re-routing');
    expect(last.caseSummary!.status).toBe(S.REFERRAL_STATUS_PENDING);
    await withdrawByReferrer(msg);
  });

  it('reuses the languages it holds for the case when a provider refers on, and erases them when the consent is withdrawn', async () => {
    const msg = await wf.request('koblenz', { languages: ['uk', 'ru'] });
    const t = await pendingAt(msg.caseRef, msg.referralId, 'routing');
    const provider = t.caseSummary!.currentAgencyId;
    expect([wf.kUkrainian, wf.kUkrainian2]).toContain(provider);
    await wf.publish(provider, events.ReferralAccepted, { referralId: msg.referralId, caseRef: msg.caseRef, providerId: provider, acceptedAt: new Date() }, msg.caseRef);

    // Refer-on: the provider sends the case reference and the consent, no routing facts, no languages.
    const onward = events.ReferralRequested.fromPartial({
      referralId: uuidv7(),
      caseRef: msg.caseRef,
      referrerAgencyId: provider,
      purpose: Purpose.PURPOSE_LANGUAGE_COURSE,
      consentId: msg.consentId,
      requestedAt: new Date(),
      recipientType: 'job-centre',
      ownerAgencyId: wf.foId,
      sourceReferralId: msg.referralId,
    });
    expect(onward.languages).toEqual([]);
    await wf.publish(provider, events.ReferralRequested, onward, msg.caseRef);
    const atJc = await pendingAt(msg.caseRef, onward.referralId, 'routing to a job centre');
    // By id alone the Arabic-speaking job centre would get it; the languages held for the case decide.
    expect(atJc.caseSummary!.currentAgencyId).toBe(wf.kJcUkrainian);
    expect(await languagesOf(onward.referralId)).toEqual(['uk', 'ru']);

    // The hub's report of what it holds (Art. 15) names the languages with the routing facts.
    const routingFacts = [DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_MUNICIPALITY, DataCategory.DATA_CATEGORY_AGE_GROUP];
    const before = await wf.dp.getDataSubjectReport({ caseRef: msg.caseRef });
    expect(before.holdings.map((h) => [h.record, h.categories, h.legalBasis])).toEqual([
      ['routing_facts', routingFacts, `consent:${msg.consentId}`],
      ['routing_facts', routingFacts, `consent:${msg.consentId}`],
    ]);

    // The owner records the withdrawal of the consent: the hub erases the languages with the other routing facts.
    await wf.publish(wf.foId, events.ConsentWithdrawn, { consentId: msg.consentId, caseRef: msg.caseRef, withdrawnAt: new Date(), recipientsKnown: [], receivedByAgencyId: wf.foId, withdrawnReferralIds: [] }, msg.caseRef);
    await wf.waitTimelineWhere(msg.caseRef, (x) => x.entries.some((e) => e.eventType === 'ConsentWithdrawn'), 'the withdrawal');
    const rows = await wf.running.ctx.db.selectFrom('hub_referral').select(['referral_id', 'languages', 'municipality', 'age_group']).where('case_ref', '=', msg.caseRef).orderBy('referral_id').execute();
    expect(rows).toEqual(
      [msg.referralId, onward.referralId].sort().map((referral_id) => ({ referral_id, languages: [], municipality: '', age_group: 0 })),
    );
    const after = await wf.dp.getDataSubjectReport({ caseRef: msg.caseRef });
    expect(after.holdings).toEqual([]);
    const own = (await wf.client.listErasures({ status: 0, caseRef: msg.caseRef, pageSize: 0, pageToken: '' })).erasures.find((e) => e.recipientAgencyId === wf.hubId);
    expect(own?.erasedCategories).toEqual(routingFacts);
    const erased = await wf.running.ctx.db.selectFrom('audit_log' as any).selectAll().where('subject_ref', '=', msg.caseRef).where('action', '=', 'erase').execute();
    expect(erased.map((r: any) => r.categories)).toEqual([routingFacts]);
    // A later onward referral under the withdrawn consent is closed on arrival and finds nothing to reuse.
    const late = events.ReferralRequested.fromPartial({ ...onward, referralId: uuidv7(), requestedAt: new Date() });
    await wf.publish(provider, events.ReferralRequested, late, msg.caseRef);
    await waitFor(async () => (await wf.running.ctx.db.selectFrom('hub_referral').select('referral_id').where('referral_id', '=', late.referralId).executeTakeFirst()) !== undefined, 'the late referral');
    expect(await languagesOf(late.referralId)).toEqual([]);
  });
});
