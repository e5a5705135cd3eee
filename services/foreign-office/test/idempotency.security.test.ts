// Security, integration tier: a stored idempotent answer belongs to the caller that caused it.
// Tried as a hostile job centre would: it learns (or guesses) the request id of a withdrawal the
// foreign office made and replays it, hoping for the stored consent record.
import { status } from '@grpc/grpc-js';
import { common, foreignOffice } from '@lotse/contracts';
import { grpcError } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(async () => {
  await t?.stop();
});

describe('a replayed request id of another agency', () => {
  it("a job centre replaying the foreign office's WithdrawConsent id gets PERMISSION_DENIED, not the stored consent record", async () => {
    const newcomer = await t.register();
    const consent = await t.consent(newcomer.newcomerId); // names migration-services only
    const request = foreignOffice.WithdrawConsentRequest.fromPartial({ requestId: `withdraw-${uuidv7()}`, consentId: consent.consentId, reason: 'asked in person' });
    const first = await t.fo.withdrawConsent(request);
    expect(first.consents[0]!.newcomerId).toBe(newcomer.newcomerId);
    const stored = await t.count('idempotency');

    // The same bytes, so the same request hash: today this is answered from the stored response.
    const replay = await grpcError(t.jobCentre.withdrawConsent(request));
    expect(replay.code).toBe(status.PERMISSION_DENIED);
    expect(replay.details).not.toContain(newcomer.newcomerId);
    // A refused call claims nothing: the foreign office's answer is still the only one.
    expect(await t.count('idempotency')).toBe(stored);

    // The caller that caused the answer still gets it on a retry.
    expect(await t.fo.withdrawConsent(request)).toEqual(first);
  });

  it('the same request id from two callers are two requests: each gets its own answer', async () => {
    const newcomer = await t.register();
    const consent = await t.consent(newcomer.newcomerId);
    const requestId = `withdraw-${uuidv7()}`;
    // A provider a referral of the newcomer is with passes the withdrawal on; the foreign office later reuses the id.
    await t.referredTo(newcomer.caseRef, t.caritasId, { status: common.ReferralStatus.REFERRAL_STATUS_PENDING });
    const byProvider = await t.caritas.withdrawConsent({ requestId, consentId: consent.consentId, newcomerId: '', reason: 'told the counsellor' });
    expect(byProvider.consents[0]!.consentId).toBe(consent.consentId);
    const other = await t.consent(newcomer.newcomerId);
    const byOffice = await t.fo.withdrawConsent({ requestId, consentId: other.consentId, newcomerId: '', reason: '' });
    expect(byOffice.consents.map((c) => c.consentId)).toEqual([other.consentId]);
  });
});
