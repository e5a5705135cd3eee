import { dataProtection, foreignOffice } from '@lotse/contracts';
import type { ReportLanguage, ReportStrings, StaffRole } from './report-strings.js';

// The transparency report as one self-contained HTML document: no scripts, no external
// resources, readable on screen and printable to PDF as it is (the CLI prints it with Chromium).

export interface ReportModel {
  language: ReportLanguage;
  generatedAt: Date;
  /** This foreign office, which compiled the report. */
  agencyId: string;
  newcomer: foreignOffice.Newcomer;
  consents: foreignOffice.Consent[];
  /** This agency first, then every agency asked. */
  agencies: dataProtection.AgencyReport[];
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Ids and codes keep left-to-right order inside right-to-left text. */
const code = (text: string) => `<bdi dir="ltr" class="code">${escapeHtml(text)}</bdi>`;

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '');

const actionKeys: Record<number, keyof ReportStrings['actions']> = {
  [dataProtection.AuditAction.AUDIT_ACTION_READ]: 'read',
  [dataProtection.AuditAction.AUDIT_ACTION_WRITE]: 'write',
  [dataProtection.AuditAction.AUDIT_ACTION_FETCH]: 'fetch',
  [dataProtection.AuditAction.AUDIT_ACTION_EXPORT]: 'export',
  [dataProtection.AuditAction.AUDIT_ACTION_ERASE]: 'erase',
  [dataProtection.AuditAction.AUDIT_ACTION_DELETE]: 'delete',
  [dataProtection.AuditAction.AUDIT_ACTION_REFUSE]: 'refuse',
};

/**
 * One person, one label: a supervisor also holds caseworker, so the report names the role with
 * the widest say over the data. Operators hold no right to personal data and come last.
 */
const rolesBySeniority: readonly StaffRole[] = ['dpo', 'auditor', 'supervisor', 'caseworker', 'operator'];

/**
 * Who acted, as the newcomer reads it: the system, or a person by role. Never the staff id: that
 * is for the data-protection officer (GetDataSubjectReport), not for the newcomer. A person
 * without a verified role (a self-declared header) is a member of staff, no more.
 */
export function actedBy(entry: dataProtection.AuditEntry, s: ReportStrings): string {
  if (entry.actor === 'system') return s.system;
  const role = rolesBySeniority.find((r) => entry.actorRoles.includes(r));
  if (role) return s.roles[role];
  return entry.caseworkerId ? s.staff : '—';
}

export function renderReport(model: ReportModel): string {
  const { language } = model;
  const s = language.strings;
  const dateFormat = new Intl.DateTimeFormat(language.locale, { dateStyle: 'long', calendar: 'gregory', timeZone: 'Europe/Berlin' });
  const dateTimeFormat = new Intl.DateTimeFormat(language.locale, { dateStyle: 'medium', timeStyle: 'short', calendar: 'gregory', timeZone: 'Europe/Berlin' });
  const regionNames = new Intl.DisplayNames([language.locale], { type: 'region', fallback: 'code' });
  const languageNames = new Intl.DisplayNames([language.locale], { type: 'language', fallback: 'code' });

  const date = (d: Date | undefined) => (d ? escapeHtml(dateFormat.format(d)) : '—');
  const dateTime = (d: Date | undefined) => (d ? escapeHtml(dateTimeFormat.format(d)) : '—');
  /** An ISO calendar date (YYYY-MM-DD) as a day, without time zones shifting it. */
  const isoDay = (iso: string) => (iso ? escapeHtml(new Intl.DateTimeFormat(language.locale, { dateStyle: 'long', calendar: 'gregory', timeZone: 'UTC' }).format(new Date(`${iso}T00:00:00Z`))) : '—');
  const categories = (list: readonly number[]) => (list.length ? list.map((c) => escapeHtml(s.categoryNames[c] ?? String(c))).join(', ') : escapeHtml(s.none));
  const purpose = (p: number) => escapeHtml(s.purposeNames[p] ?? String(p));
  const legalBasis = (basis: string) => {
    if (!basis) return escapeHtml(s.basisNone);
    if (basis.startsWith('consent:')) return `${escapeHtml(s.basisConsent)} ${code(basis.slice('consent:'.length))}`;
    if (basis.startsWith('retention:')) return `${escapeHtml(s.basisRetention)} ${code(basis.slice('retention:'.length).trim())}`;
    return `<bdi>${escapeHtml(basis)}</bdi>`;
  };
  const agencyLabel = (agencyId: string, agencyType?: string) => {
    const type = agencyType ? s.agencyTypes[agencyType] : undefined;
    return `${code(agencyId)}${type ? ` <span class="muted">(${escapeHtml(type)})</span>` : ''}`;
  };
  const table = (headers: string[], rows: string[][], empty: string) =>
    rows.length
      ? `<table><thead><tr>${headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
          .map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`
      : `<p class="empty">${escapeHtml(empty)}</p>`;

  const own = model.agencies.find((a) => a.agencyId === model.agencyId);
  const reached = model.agencies.filter((a) => a.reached && a.report);
  const unreachable = model.agencies.filter((a) => !a.reached);
  const n = model.newcomer;

  const personal: [string, string][] = [
    [s.givenNames, `<bdi>${escapeHtml(n.givenNames)}</bdi>`],
    [s.familyName, `<bdi>${escapeHtml(n.familyName)}</bdi>`],
    [s.birthDate, isoDay(n.birthDate)],
    [s.nationality, escapeHtml(regionNames.of(n.nationality) ?? n.nationality)],
    [s.languages, escapeHtml(n.languages.map((l) => languageNames.of(l) ?? l).join(', '))],
    [s.municipality, `<bdi>${escapeHtml(n.municipality)}</bdi>`],
    [s.residenceStatus, escapeHtml(s.residenceStatuses[n.residenceStatus] ?? String(n.residenceStatus))],
    [s.registeredAt, date(n.registeredAt)],
  ];

  const consentRows = model.consents.map((c) => [
    date(c.grantedAt),
    c.recipients.map((r) => agencyLabel(r, s.agencyTypes[r] ? r : undefined)).join(', '),
    c.purposes.map(purpose).join(', '),
    categories(c.dataCategories),
    c.expiresAt ? date(c.expiresAt) : escapeHtml(s.unlimited),
    c.withdrawnAt ? date(c.withdrawnAt) : '—',
    escapeHtml(languageNames.of(c.language) ?? c.language),
    escapeHtml(c.interpreterUsed ? s.yes : s.no),
  ]);

  const holdingRows = reached.flatMap((a) =>
    a.report!.holdings.map((h) => [
      agencyLabel(a.agencyId, a.report!.agencyType),
      escapeHtml(s.records[h.record] ?? h.record),
      categories(h.categories),
      purpose(h.purpose),
      legalBasis(h.legalBasis),
      date(h.since),
      h.retentionUntil ? date(h.retentionUntil) : escapeHtml(s.keptWhileOpen),
    ]),
  );

  const accessRows = reached
    .flatMap((a) => a.report!.auditEntries.map((e) => ({ a, e })))
    .sort((x, y) => (x.e.at?.getTime() ?? 0) - (y.e.at?.getTime() ?? 0))
    .map(({ a, e }) => [
      dateTime(e.at),
      agencyLabel(e.actorAgencyId) + (e.actorAgencyId !== a.agencyId ? ` <span class="muted">→ ${code(a.agencyId)}</span>` : ''),
      escapeHtml(actedBy(e, s)),
      escapeHtml(s.actions[actionKeys[e.action] ?? 'read']),
      categories(e.categories),
      purpose(e.purpose),
      legalBasis(e.legalBasis),
    ]);

  const erasureRows = reached.flatMap((a) =>
    a.report!.erasures.map((e) => [
      agencyLabel(a.agencyId, a.report!.agencyType),
      escapeHtml(e.status === 'done' ? s.done : s.pending),
      categories(e.categories),
      legalBasis(e.reason),
      date(e.completedAt ?? e.requestedAt),
      e.keptUnder ? `<bdi>${escapeHtml(e.keptUnder)}</bdi>` : '—',
    ]),
  );

  const title = escapeHtml(s.title);
  return `<!DOCTYPE html>
<html lang="${language.code}" dir="${language.direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  @page { size: A4; margin: 16mm 14mm; }
  html { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans Arabic", Tahoma, Arial, sans-serif; font-size: 11pt; line-height: 1.45; color: #111; background: #fff; }
  body { margin: 0 auto; max-width: 60rem; padding: 1.5rem; }
  html[dir="rtl"] body { text-align: right; }
  h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
  h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 2px solid #333; padding-bottom: .15rem; }
  .subtitle { margin: 0 0 1rem; color: #333; }
  .muted { color: #555; }
  .code { font-family: "DejaVu Sans Mono", monospace; font-size: .9em; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .5rem 0; }
  dl.facts dt { font-weight: bold; }
  dl.facts dd { margin: 0; }
  table { border-collapse: collapse; width: 100%; margin: .4rem 0; font-size: .92rem; }
  th, td { border: 1px solid #999; padding: .3rem .45rem; text-align: start; vertical-align: top; }
  th { background: #eee; }
  thead { display: table-header-group; }
  tr, dl.facts { break-inside: avoid; }
  .empty { font-style: italic; }
  .notice { border: 1px solid #b00; padding: .5rem .75rem; }
  footer { margin-top: 2rem; font-size: .85rem; color: #444; }
  @media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } }
</style>
</head>
<body>
<header>
<h1>${title}</h1>
<p class="subtitle">${escapeHtml(s.subtitle)}</p>
<p>${fill(escapeHtml(s.intro), { agency: code(model.agencyId), date: date(model.generatedAt) })}</p>
<dl class="facts">
<dt>${escapeHtml(s.caseRef)}</dt><dd>${code(n.caseRef)}</dd>
<dt>${escapeHtml(s.generated)}</dt><dd>${dateTime(model.generatedAt)}</dd>
</dl>
</header>
${
  unreachable.length
    ? `<section class="notice" id="unreachable"><h2>${escapeHtml(s.unreachable)}</h2><p>${escapeHtml(s.unreachableIntro)}</p><ul>${unreachable
        .map((a) => `<li>${code(a.agencyId)} <span class="muted">(${escapeHtml(a.error)})</span></li>`)
        .join('')}</ul></section>`
    : ''
}
<section id="your-data">
<h2>${fill(escapeHtml(s.yourData), { agency: code(model.agencyId) })}</h2>
<p>${escapeHtml(s.yourDataIntro)}</p>
<dl class="facts">${personal.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v}</dd>`).join('')}</dl>
</section>
<section id="consents">
<h2>${escapeHtml(s.consents)}</h2>
${table([s.consentGranted, s.recipients, s.purposes, s.data, s.validUntil, s.withdrawnOn, s.languageShown, s.interpreter], consentRows, s.consentsNone)}
</section>
<section id="holders">
<h2>${escapeHtml(s.holders)}</h2>
<p>${escapeHtml(s.holdersIntro)}</p>
${table([s.agency, s.record, s.data, s.purpose, s.legalBasis, s.since, s.keptUntil], holdingRows, s.none)}
</section>
<section id="accesses">
<h2>${escapeHtml(s.accesses)}</h2>
${table([s.when, s.agency, s.who, s.action, s.data, s.purpose, s.legalBasis], accessRows, s.noEntries)}
</section>
<section id="erasures">
<h2>${escapeHtml(s.erasures)}</h2>
${table([s.agency, s.status, s.data, s.reason, s.date, s.keptUnder], erasureRows, s.erasuresNone)}
</section>
<section id="rights">
<h2>${escapeHtml(s.rights)}</h2>
<p>${escapeHtml(s.rightsText)}</p>
</section>
<footer>Lotse · ${code(own?.agencyId ?? model.agencyId)} · ${code(n.caseRef)}</footer>
</body>
</html>
`;
}
