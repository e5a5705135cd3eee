// The suite's cases on referring a case on: the request to the hub (references only, once), where
// the hub reports it stands, its withdrawal by the agency, and a routed referral its referrer withdrew.
import { status } from '@grpc/grpc-js';
import { common, events } from '@lotse/contracts';
import { expect, it } from 'vitest';
import { waitFor } from './index.js';
import type { ReferralWorkflowFixture } from './referral-workflow-fixture.js';

const { DeclineReason, ReferralStatus, ReferralType } = common;

export function referringOnCases(f: ReferralWorkflowFixture): void {
  const { target, statuses, agencyId, ownerId, client, fromHub, hubEventsConsumed, routed, accepted, referOnRequest, referredOn, inboxRow, outgoingRow, outbox, published, snapshot, expectInvalid, expectCode } = f;

  it('refers an accepted case on: bad input, no agreement and an undecided source write nothing; the hub gets references only, once', async () => {
    const source = await accepted();
    const pending = await routed();
    const before = await snapshot();
    await expectInvalid(client.requestReferral({ requestId: 'refer-bad', referralId: '', caseRef: '', purpose: 0, type: 0, recipientType: '' }), [
      'referral_id',
      'purpose',
      'type',
      'recipient_type',
    ]);
    const noAgreement = await expectInvalid(client.requestReferral({ ...referOnRequest('refer-no-agreement', source.referralId), recipientType: 'foreign-office' }), ['recipient_type']);
    expect(noAgreement.details).toMatch(new RegExp(`^recipient_type: no cooperation agreement lets ${target.agencyType} refer to foreign-office`));
    await expectCode(client.requestReferral(referOnRequest('refer-unknown', 'no-such-referral')), status.NOT_FOUND, /^referral_id: /);
    await expectCode(client.requestReferral({ ...referOnRequest('refer-unknown-case', ''), caseRef: 'C-NOBODY' }), status.NOT_FOUND, /^case_ref: /);
    await expectCode(client.requestReferral(referOnRequest('refer-pending', pending.referralId)), status.FAILED_PRECONDITION, /only an accepted case can be referred on/);
    expect(await snapshot()).toEqual(before);

    const request = referOnRequest(`refer-${source.referralId}`, source.referralId);
    const first = await client.requestReferral(request);
    const referralId = first.referral!.referralId;
    expect(first.referral).toMatchObject({
      caseRef: source.caseRef,
      sourceReferralId: source.referralId,
      purpose: target.referOn.purpose,
      type: ReferralType.REFERRAL_TYPE_REFERRAL,
      recipientType: target.referOn.recipientType,
      status: ReferralStatus.REFERRAL_STATUS_REQUESTED,
    });
    expect(await outgoingRow(referralId)).toMatchObject({ case_ref: source.caseRef, source_referral_id: source.referralId, consent_id: source.consentId, status: ReferralStatus.REFERRAL_STATUS_REQUESTED, provider_id: null });
    const requested = await outbox('ReferralRequested', events.ReferralRequested, (m) => m.referralId === referralId);
    expect(requested).toHaveLength(1);
    expect(requested[0]!.message).toMatchObject({
      referralId,
      caseRef: source.caseRef,
      referrerAgencyId: agencyId,
      purpose: target.referOn.purpose,
      consentId: source.consentId,
      type: ReferralType.REFERRAL_TYPE_REFERRAL,
      recipientType: target.referOn.recipientType,
      ownerAgencyId: ownerId,
      sourceReferralId: source.referralId,
      // Thin: the hub has the routing facts and recipients from the first referral already.
      municipality: '',
      ageGroup: 0,
      consentedRecipients: [],
    });

    const afterFirst = await snapshot();
    expect(await client.requestReferral(request)).toEqual(first);
    await expectInvalid(client.requestReferral({ ...request, type: ReferralType.REFERRAL_TYPE_TRANSFER }), ['request_id']);
    expect(await snapshot()).toEqual(afterFirst);
    await published('ReferralRequested', events.ReferralRequested, (m) => m.referralId === referralId);

    // By case reference: from the case's newest referral.
    const byCase = await client.requestReferral({ ...referOnRequest('refer-by-case', ''), caseRef: source.caseRef });
    expect(byCase.referral).toMatchObject({ caseRef: source.caseRef, sourceReferralId: source.referralId });
    expect(byCase.referral!.referralId).not.toBe(referralId);
  });

  it(`names ${target.unnamedOwner === 'referrer' ? 'the referrer' : 'its configured data owner'} to the hub when the routing named no owner`, async () => {
    const source = await accepted({ ownerAgencyId: '' });
    const { referral } = await client.requestReferral(referOnRequest(`refer-unnamed-${source.referralId}`, source.referralId));
    const [requested] = await outbox('ReferralRequested', events.ReferralRequested, (m) => m.referralId === referral!.referralId);
    expect(requested!.message.ownerAgencyId).toBe(target.unnamedOwner === 'referrer' ? source.referrerAgencyId : ownerId);
  });

  it('follows where the hub reports its referral stands, only forward', async () => {
    const { source, referralId } = await referredOn();
    const report = (s: common.ReferralStatus, providerId: string) =>
      fromHub('ReferralStatusChanged', events.ReferralStatusChanged, events.ReferralStatusChanged.fromPartial({ referralId, caseRef: source.caseRef, status: s, providerId, changedAt: new Date() }), source.caseRef);
    await report(ReferralStatus.REFERRAL_STATUS_PENDING, 'provider-1');
    await waitFor(async () => (await outgoingRow(referralId))?.status === ReferralStatus.REFERRAL_STATUS_PENDING, 'the referral pending');
    await report(ReferralStatus.REFERRAL_STATUS_ACCEPTED, 'provider-1');
    await report(ReferralStatus.REFERRAL_STATUS_PENDING, 'provider-2');
    await hubEventsConsumed();
    expect(await outgoingRow(referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, provider_id: 'provider-1' });
  });

  it('withdraws its own open referral once; unknown or closed ones are refused and nothing reopens it', async () => {
    const { source, referralId } = await referredOn();
    const before = await snapshot();
    await expectInvalid(client.withdrawReferral({ requestId: '', referralId: '' }), ['request_id', 'referral_id']);
    await expectCode(client.withdrawReferral({ requestId: 'withdraw-unknown', referralId: 'no-such-referral' }), status.NOT_FOUND, /^referral_id: /);
    // A referral routed here is not this agency's to withdraw.
    await expectCode(client.withdrawReferral({ requestId: 'withdraw-received', referralId: source.referralId }), status.NOT_FOUND, /^referral_id: /);
    expect(await snapshot()).toEqual(before);

    const request = { requestId: `withdraw-${referralId}`, referralId };
    const first = await client.withdrawReferral(request);
    expect(first.referral).toMatchObject({ referralId, caseRef: source.caseRef, status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN });
    expect(await outgoingRow(referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN });
    const withdrawn = await outbox('ReferralWithdrawnByReferrer', events.ReferralWithdrawnByReferrer, (m) => m.referralId === referralId);
    expect(withdrawn.map((e) => e.message)).toEqual([{ referralId, caseRef: source.caseRef, referrerAgencyId: agencyId, withdrawnAt: expect.any(Date) }]);

    expect(await client.withdrawReferral(request)).toEqual(first);
    await expectInvalid(client.withdrawReferral({ ...request, referralId: source.referralId }), ['request_id']);
    await expectCode(client.withdrawReferral({ ...request, requestId: 'withdraw-again' }), status.FAILED_PRECONDITION, /is REFERRAL_STATUS_WITHDRAWN; it can no longer be withdrawn/);
    expect(await outbox('ReferralWithdrawnByReferrer', events.ReferralWithdrawnByReferrer, (m) => m.referralId === referralId)).toHaveLength(1);
    await published('ReferralWithdrawnByReferrer', events.ReferralWithdrawnByReferrer, (m) => m.referralId === referralId);

    // A late report from the hub does not reopen it.
    await fromHub(
      'ReferralStatusChanged',
      events.ReferralStatusChanged,
      events.ReferralStatusChanged.fromPartial({ referralId, caseRef: source.caseRef, status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, providerId: 'provider-1' }),
      source.caseRef,
    );
    await hubEventsConsumed();
    expect(await outgoingRow(referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN, provider_id: null });
  });

  it('closes a routed referral its referrer withdrew, but not one already decided', async () => {
    const open = await routed();
    const decided = await routed();
    await client.declineReferral({ requestId: `decline-${decided.referralId}`, referralId: decided.referralId, reason: DeclineReason.DECLINE_REASON_OTHER });
    const withdrawnAt = new Date('2026-01-15T10:00:00Z');
    for (const r of [open, decided]) {
      await fromHub('ReferralWithdrawn', events.ReferralWithdrawn, { referralId: r.referralId, caseRef: r.caseRef, providerId: agencyId, consentId: '', withdrawnAt }, r.caseRef);
    }
    await hubEventsConsumed();
    expect(await inboxRow(open.referralId)).toMatchObject({ status: statuses.withdrawn, decided_at: withdrawnAt });
    expect(await inboxRow(decided.referralId)).toMatchObject({ status: statuses.declined, decline_reason: DeclineReason.DECLINE_REASON_OTHER });
    await expectCode(client.acceptReferral({ requestId: `accept-${open.referralId}`, referralId: open.referralId }), status.FAILED_PRECONDITION, /only a pending referral/);
  });
}
