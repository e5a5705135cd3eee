// Integration tier, property-based: random and extreme requests (random bytes, extreme numbers,
// invalid UTF-8, huge strings and lists, truncated and corrupted messages) at every RPC the
// foreign office serves — found by server reflection, so a new RPC is fuzzed too — against the
// real server on PostgreSQL and NATS. Whatever arrives: never INTERNAL, still SERVING, and a
// refused call writes nothing. Fixed seed and bounded runs: a failure replays exactly.
import { status } from '@grpc/grpc-js';
import { common, foreignOffice } from '@lotse/contracts';
import { loadIdentity } from '@lotse/pki';
import { fuzzServer } from '@lotse/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consentRequest, newcomerRequest, startForeignOfficeFixture, type ForeignOfficeUnderTest } from './support/foreign-office-fixture.js';

const S = foreignOffice.ForeignOfficeServiceService;
const { Purpose, DataCategory } = common;

const SEED = 20261202;
const RUNS_PER_RPC = 200;

let t: ForeignOfficeUnderTest;
beforeAll(async () => {
  t = await startForeignOfficeFixture();
});
afterAll(async () => {
  await t?.stop();
});

it('no request makes the foreign office answer INTERNAL, stop serving, or write for a refused call', { timeout: 120_000 }, async () => {
  // Real ids, so that some calls get past the field rules into the handlers.
  const newcomer = await t.register();
  const consent = await t.consent(newcomer.newcomerId);
  const report = await fuzzServer({
    address: `127.0.0.1:${t.running.grpcPort}`,
    identities: [t.foId, t.caritasId, t.jobCentreId].map((id) => loadIdentity(t.pkiDir, id)),
    databaseUrl: t.databaseUrl,
    samples: [newcomer.newcomerId, newcomer.caseRef, consent.consentId, t.foId, t.caritasId, 'migration-services', 'job-centre', 'ar', 'de', 'SY', 'andernach', 'mbe-einwilligung-2026-01', 'fuzz-1'],
    // Valid requests the fuzzer varies one or two fields of, so that calls reach the writes.
    examples: {
      [S.registerNewcomer.path]: [S.registerNewcomer.requestSerialize(newcomerRequest())],
      [S.recordConsent.path]: [S.recordConsent.requestSerialize(consentRequest(newcomer.newcomerId))],
      [S.requestReferral.path]: [
        S.requestReferral.requestSerialize({ requestId: 'fz-referral', newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' }),
      ],
      [S.getNewcomer.path]: [S.getNewcomer.requestSerialize({ newcomerId: newcomer.newcomerId })],
      [S.listReferrals.path]: [S.listReferrals.requestSerialize({ newcomerId: newcomer.newcomerId, status: 0, pageSize: 10, pageToken: '' })],
      [S.discloseNewcomerData.path]: [
        S.discloseNewcomerData.requestSerialize({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [DataCategory.DATA_CATEGORY_IDENTITY], referralId: '' }),
      ],
      [S.getConsentText.path]: [S.getConsentText.requestSerialize({ language: 'ar', textVersion: '' })],
      [S.withdrawConsent.path]: [S.withdrawConsent.requestSerialize({ requestId: 'fz-withdraw', consentId: consent.consentId, newcomerId: '', reason: 'fuzz' })],
    },
    // A disclosure refused for want of consent is itself on record (disclosure register and audit
    // log): the only rows a refused call may add. Bad input (INVALID_ARGUMENT) adds none.
    mayGrowOnRefusal: (table, code) => ['audit_log', 'data_access_log'].includes(table) && (code === status.PERMISSION_DENIED || code === status.UNAVAILABLE), // refused disclosures are logged, and so is one the office cannot decide yet
    seed: SEED,
    numRuns: RUNS_PER_RPC,
  });
  console.log(`fuzz foreign office: seed ${report.seed}, ${report.numRuns} runs per RPC, ${report.total} calls\n${JSON.stringify(report.calls)}\nslow: ${JSON.stringify(report.slow)}\nnot served: ${JSON.stringify(report.notServed)}`);
  expect(Object.keys(report.calls)).toContain('/lotse.foreign_office.v1.ForeignOfficeService/WithdrawConsent');
  expect(report.total).toBe(Object.keys(report.calls).length * RUNS_PER_RPC);
});
