// Integration tier: the foreign office's transparency report for a newcomer, in the newcomer's
// languages, with the parts of the agencies it could and could not reach (the hub named in PEERS
// does not listen), against the real PostgreSQL and NATS, over gRPC with mTLS.
import { status } from '@grpc/grpc-js';
import { common, dataProtection } from '@lotse/contracts';
import { fieldViolationsOf } from '@lotse/grpc';
import { caseworker, grpcError } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataProtectionFixture, type DataProtectionUnderTest } from './support/foreign-office-fixture.js';

const { Purpose } = common;
const { AuditAction } = dataProtection;

let t: DataProtectionUnderTest;
beforeAll(async () => {
  t = await startDataProtectionFixture();
});
afterAll(() => t?.stop());

describe('transparency t.report', () => {
  it('renders in Arabic (right to left), Ukrainian and German, and names the agency it could not reach', async () => {
    const newcomer = await t.register({ givenNames: 'محمد', familyName: 'الخطيب', languages: ['ar'] });
    await t.consent(newcomer.newcomerId);
    await t.fo.requestReferral({ requestId: `ref-${uuidv7()}`, newcomerId: newcomer.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
    // A disclosure to a provider this office has no address for.
    await t.referredTo(newcomer.caseRef, t.caritasId);
    await t.caritas.discloseNewcomerData({ caseRef: newcomer.caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' });

    const ar = await t.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'ar' }, caseworker('cw-anna'));
    expect(ar).toMatchObject({ newcomerId: newcomer.newcomerId, caseRef: newcomer.caseRef, language: 'ar', direction: 'rtl' });
    expect(ar.html).toMatch(/^<!DOCTYPE html>\n<html lang="ar" dir="rtl">/);
    expect(ar.html).toContain('<h1>معلومات عن بياناتك الشخصية</h1>');
    expect(ar.html).toContain('من اطّلع على بياناتك');
    expect(ar.html).toContain('محمد');
    expect(ar.unreachableAgencyIds.sort()).toEqual([t.hubId, t.caritasId].sort());
    expect(ar.agencies.map((a) => [a.agencyId, a.reached])).toEqual([
      [t.foId, true],
      [t.hubId, false],
      [t.caritasId, false],
    ]);
    expect(ar.agencies.find((a) => a.agencyId === t.caritasId)!.error).toMatch(/no address/);
    expect(ar.agencies.find((a) => a.agencyId === t.hubId)!.error).toBe('UNAVAILABLE');
    expect(ar.html).toContain('جهات تعذّر الوصول إليها');
    expect(ar.html).toContain(t.hubId);
    // The office's own part: holdings and every access, the provider's fetch among them.
    const own = ar.agencies[0]!.report!;
    expect(own.holdings.map((h) => h.record)).toEqual(['newcomer_register']);
    expect(own.auditEntries.map((e) => e.action)).toEqual([
      AuditAction.AUDIT_ACTION_WRITE,
      AuditAction.AUDIT_ACTION_WRITE,
      AuditAction.AUDIT_ACTION_EXPORT,
      AuditAction.AUDIT_ACTION_EXPORT,
    ]);

    const uk = await t.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'uk' });
    expect(uk.html).toMatch(/<html lang="uk" dir="ltr">/);
    expect(uk.html).toContain('<h1>Інформація про ваші персональні дані</h1>');
    expect(uk.html).toContain('Хто мав доступ до ваших даних');
    expect(uk.html).toContain('Сирія');

    const de = await t.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'de' });
    expect(de.html).toMatch(/<html lang="de" dir="ltr">/);
    expect(de.html).toContain('<h1>Auskunft über Ihre personenbezogenen Daten</h1>');
    expect(de.html).toContain('Wer auf Ihre Daten zugegriffen hat');
    // Registered with a self-declared caseworker header and no token: a member of staff, no id.
    expect(de.html).toContain('<td>ein/e Mitarbeiter/in</td>');
    expect(ar.html).toContain('<td>أحد الموظفين</td>');
    for (const html of [ar.html, uk.html, de.html]) expect(html).not.toContain('cw-anna');

    // Compiling the t.report is itself an access on record (one per t.report).
    const reads = (await t.auditRows(newcomer.caseRef)).filter((r) => r.details?.report === 'transparency_report');
    expect(reads.map((r) => [r.caseworker_id, r.details.language])).toEqual([
      ['cw-anna', 'ar'],
      [null, 'uk'],
      [null, 'de'],
    ]);
  });

  it('speaks every language it names, right to left for Farsi and Dari, and picks the newcomer’s by default', async () => {
    const newcomer = await t.register({ languages: ['fa', 'de'] });
    const expected: [string, string, string][] = [
      ['en', 'en', 'ltr'],
      ['fa', 'fa', 'rtl'],
      ['prs', 'prs', 'rtl'],
      ['fa-AF', 'prs', 'rtl'],
      ['tr', 'tr', 'ltr'],
      ['RU', 'ru', 'ltr'],
      ['', 'fa', 'rtl'],
    ];
    for (const [asked, language, direction] of expected) {
      const r = await t.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: asked });
      expect([r.language, r.direction], asked).toEqual([language, direction]);
      expect(r.html).toContain(`<html lang="${language}" dir="${direction}">`);
      expect(r.unreachableAgencyIds).toEqual([]);
    }
  });

  it('bad input: unknown language → INVALID_ARGUMENT naming language; unknown newcomer → NOT_FOUND; nothing written', async () => {
    const newcomer = await t.register();
    const before = await t.auditCount();
    const language = await grpcError(t.report.getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'xx' }));
    expect(language.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(language).map((v) => v.field)).toEqual(['language']);
    const both = await grpcError(t.report.getTransparencyReport({ newcomerId: '', language: 'klingon' }));
    expect(fieldViolationsOf(both).map((v) => v.field).sort()).toEqual(['language', 'newcomer_id']);
    const unknown = await grpcError(t.report.getTransparencyReport({ newcomerId: uuidv7(), language: 'de' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain('newcomer_id');
    const foreign = await grpcError(t.client(dataProtection.TransparencyReportServiceClient, t.caritasId).getTransparencyReport({ newcomerId: newcomer.newcomerId, language: 'de' }));
    expect(foreign.code).toBe(status.PERMISSION_DENIED);
    expect(await t.auditCount()).toBe(before);
  });
});
