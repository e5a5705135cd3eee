// The suite's cases on referrals routed to the agency: its caseworker declines, accepts or completes
// them, each once per request id, with bad input refused before anything is written.
import { status } from '@grpc/grpc-js';
import { common, events } from '@lotse/contracts';
import { expect, it } from 'vitest';
import type { ReferralWorkflowFixture } from './referral-workflow-fixture.js';

const { DeclineReason, ReferralOutcome } = common;

export function decisionCases(f: ReferralWorkflowFixture): void {
  const { statuses, agencyId, client, routed, accepted, inboxRow, outbox, published, snapshot, expectInvalid, expectCode, reused } = f;

  it('declines a pending referral with a coded reason once; an unknown reason names the field and writes nothing', async () => {
    const { referralId, caseRef } = await routed();
    const before = await snapshot();
    const unknown = await expectInvalid(client.declineReferral({ requestId: 'decline-unknown', referralId, reason: 99 as common.DeclineReason }), ['reason']);
    expect(unknown.details).toBe('reason: unknown value 99');
    await expectInvalid(client.declineReferral({ requestId: 'not an id', referralId: '', reason: DeclineReason.DECLINE_REASON_OTHER }), ['request_id', 'referral_id']);
    expect(await snapshot()).toEqual(before);

    const request = { requestId: `decline-${referralId}`, referralId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY };
    const first = await client.declineReferral(request);
    expect(first.referral).toMatchObject({ referralId, caseRef, status: statuses.declined, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(first.referral!.decidedAt).toBeInstanceOf(Date);
    expect(await inboxRow(referralId)).toMatchObject({ status: statuses.declined, decline_reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, decided_at: expect.any(Date) });
    const declined = await outbox('ReferralDeclined', events.ReferralDeclined, (m) => m.referralId === referralId);
    expect(declined.map((e) => e.message)).toEqual([{ referralId, caseRef, providerId: agencyId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, declinedAt: expect.any(Date) }]);

    // Same id, same request: the first answer, nothing written twice. Same id, other request: refused.
    expect(await client.declineReferral(request)).toEqual(first);
    await expectInvalid(client.declineReferral({ ...request, reason: DeclineReason.DECLINE_REASON_OTHER }), ['request_id']);
    await expectCode(client.declineReferral({ ...request, requestId: 'decline-again' }), status.FAILED_PRECONDITION, /only a pending referral can be declined/);
    await expectCode(client.acceptReferral({ requestId: 'accept-declined', referralId }), status.FAILED_PRECONDITION, /only a pending referral can be accepted/);
    expect(await inboxRow(referralId)).toMatchObject({ status: statuses.declined, decline_reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
    expect(await outbox('ReferralDeclined', events.ReferralDeclined, (m) => m.referralId === referralId)).toHaveLength(1);
    const relayed = await published('ReferralDeclined', events.ReferralDeclined, (m) => m.referralId === referralId);
    expect(relayed.map((e) => e.eventId)).toEqual(declined.map((e) => e.eventId));
  });

  it('accepts once per request id; the same id for another referral is refused and leaves that one pending', async () => {
    const one = await routed();
    const other = await routed();
    const first = await client.acceptReferral({ requestId: `accept-once-${one.referralId}`, referralId: one.referralId });
    expect(first.referral).toMatchObject({ referralId: one.referralId, status: statuses.accepted });
    const error = await expectInvalid(client.acceptReferral({ requestId: `accept-once-${one.referralId}`, referralId: other.referralId }), ['request_id']);
    expect(error.details).toMatch(reused);
    expect(await inboxRow(other.referralId)).toMatchObject({ status: statuses.pending, decided_at: null });
    expect(await outbox('ReferralAccepted', events.ReferralAccepted, (m) => m.referralId === other.referralId)).toEqual([]);
  });

  it('completes only with an outcome code: without one INVALID_ARGUMENT names outcome and nothing is written', async () => {
    const { referralId, caseRef } = await accepted();
    const pending = await routed();
    const before = await snapshot();
    const none = await expectInvalid(client.completeReferral({ requestId: `complete-${referralId}`, referralId, outcome: 0 }), ['outcome']);
    expect(none.details).toBe('outcome: must be set');
    await expectCode(
      client.completeReferral({ requestId: 'complete-pending', referralId: pending.referralId, outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }),
      status.FAILED_PRECONDITION,
      /only an accepted referral can be completed/,
    );
    await expectCode(client.completeReferral({ requestId: 'complete-unknown', referralId: 'no-such-referral', outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }), status.NOT_FOUND, /referral_id/);
    expect(await snapshot()).toEqual(before);

    // The refused call stored no answer under its id: the same id now completes.
    const request = { requestId: `complete-${referralId}`, referralId, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED };
    const first = await client.completeReferral(request);
    expect(first.referral).toMatchObject({ referralId, caseRef, status: statuses.completed, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED });
    expect(await inboxRow(referralId)).toMatchObject({ status: statuses.completed, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED });
    const completed = await outbox('ReferralCompleted', events.ReferralCompleted, (m) => m.referralId === referralId);
    expect(completed.map((e) => e.message)).toEqual([
      { referralId, caseRef, providerId: agencyId, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED, completedAt: expect.any(Date) },
    ]);

    expect(await client.completeReferral(request)).toEqual(first);
    await expectInvalid(client.completeReferral({ ...request, outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }), ['request_id']);
    await expectCode(client.completeReferral({ ...request, requestId: 'complete-again' }), status.FAILED_PRECONDITION, /only an accepted referral can be completed/);
    expect(await inboxRow(referralId)).toMatchObject({ outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED });
    expect(await outbox('ReferralCompleted', events.ReferralCompleted, (m) => m.referralId === referralId)).toHaveLength(1);
    await published('ReferralCompleted', events.ReferralCompleted, (m) => m.referralId === referralId);
  });
}
