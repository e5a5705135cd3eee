import { dataProtection, foreignOffice } from '@lotse/contracts';
import { ROLES } from '@lotse/identity';
import { describe, expect, it } from 'vitest';
import { actedBy, renderReport } from './render-report.js';
import { reportLanguages } from './report-strings.js';

// Unit tier: the newcomer learns which agency and which role saw the data, never a staff id.

const entry = (overrides: Partial<dataProtection.AuditEntry>) =>
  dataProtection.AuditEntry.fromPartial({ actorAgencyId: 'fo-mayen-koblenz', actor: 'caseworker', action: dataProtection.AuditAction.AUDIT_ACTION_READ, at: new Date('2026-03-02T09:00:00Z'), ...overrides });

const reportFor = (code: string, auditEntries: dataProtection.AuditEntry[]) =>
  renderReport({
    language: reportLanguages[code]!,
    generatedAt: new Date('2026-03-03T10:00:00Z'),
    agencyId: 'fo-mayen-koblenz',
    newcomer: foreignOffice.Newcomer.fromPartial({ caseRef: 'C-2026-0001', givenNames: 'Amira', familyName: 'Haddad', nationality: 'SY', languages: ['ar'] }),
    consents: [],
    agencies: [{ agencyId: 'fo-mayen-koblenz', reached: true, error: '', report: dataProtection.GetDataSubjectReportResponse.fromPartial({ auditEntries }) }],
  });

const signedIn = entry({ caseworkerId: 'staff-abc123', actorRoles: ['caseworker'] });
const declared = entry({ caseworkerId: 'cw-declared-by-header', actorRoles: [] });

describe('who saw the data, in the transparency report', () => {
  it('names the role of a signed-in person in the newcomer’s language, not the staff id', () => {
    const de = reportFor('de', [signedIn]);
    const en = reportFor('en', [signedIn]);
    expect(de).toContain('<td>Sachbearbeitung</td>');
    expect(en).toContain('<td>caseworker</td>');
    expect(de).toContain('fo-mayen-koblenz');
    expect(de).not.toContain('staff-abc123');
    expect(en).not.toContain('staff-abc123');
  });

  it('shows no staff id in any language, whether the person signed in or only declared themselves', () => {
    for (const [code, language] of Object.entries(reportLanguages)) {
      const html = reportFor(code, [signedIn, declared]);
      expect(html, code).toContain(`<td>${language.strings.roles.caseworker}</td>`);
      expect(html, code).toContain(`<td>${language.strings.staff}</td>`);
      expect(html, code).not.toContain('staff-abc123');
      expect(html, code).not.toContain('cw-declared-by-header');
    }
  });

  it('gives one label per person: the most senior role held; system entries and entries without a person stay as they were', () => {
    const { strings: s } = reportLanguages.de!;
    expect(actedBy(entry({ caseworkerId: 'staff-x', actorRoles: ['caseworker', 'supervisor'] }), s)).toBe('Teamleitung');
    expect(actedBy(entry({ caseworkerId: 'staff-x', actorRoles: ['operator', 'caseworker'] }), s)).toBe('Sachbearbeitung');
    expect(actedBy(entry({ caseworkerId: 'staff-x', actorRoles: ['dpo'] }), s)).toBe('Datenschutzbeauftragte/r');
    // A role the network does not know is no role: the person is a member of staff.
    expect(actedBy(entry({ caseworkerId: 'staff-x', actorRoles: ['janitor'] }), s)).toBe(s.staff);
    expect(actedBy(entry({ actor: 'system', caseworkerId: '' }), s)).toBe(s.system);
    expect(actedBy(entry({ caseworkerId: '' }), s)).toBe('—');
  });

  it('labels every role of the network in every language, each differently', () => {
    for (const [code, { strings }] of Object.entries(reportLanguages)) {
      const labels = ROLES.map((role) => strings.roles[role]);
      expect(labels.every((label) => label.trim().length > 0), code).toBe(true);
      expect(new Set(labels).size, code).toBe(ROLES.length);
      expect(labels, code).not.toContain(strings.staff);
    }
  });
});
