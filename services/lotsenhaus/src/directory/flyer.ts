import { directory as dir } from '@lotse/contracts';
import QRCode from 'qrcode';
import { flyerLanguages, type FlyerLanguage } from './flyer-strings.js';

// The newcomers' flyer (the Koblenz agreement): the partners' offers and contacts that serve one
// municipality, from the directory, as one self-contained HTML page — readable on screen and
// printed to PDF as it is (like the transparency report, by headless Chromium). Right to left
// for Arabic, Persian and Dari; addresses, phone numbers and e-mail stay left to right inside it.
// The QR code (qrcode, a maintained QR encoder that renders SVG without a canvas) links to the
// directory's HSDS service list for the municipality.

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const ltr = (text: string) => `<bdi dir="ltr">${escapeHtml(text)}</bdi>`;
const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '');

export function flyerLanguage(code: string): FlyerLanguage {
  const language = flyerLanguages[code];
  if (!language) throw new Error(`lang: one of ${Object.keys(flyerLanguages).join(', ')}, not "${code}"`);
  return language;
}

export interface FlyerInput {
  organizations: dir.DirectoryOrganization[];
  municipality: { code: string; name: string };
  language: string;
  /** Where the QR code leads: the HSDS service list for the municipality. */
  qrUrl: string;
  at: Date;
}

export async function renderFlyer(input: FlyerInput): Promise<string> {
  const language = flyerLanguage(input.language);
  const t = language.strings;
  const languageName = (() => {
    const names = new Intl.DisplayNames([language.locale, 'de'], { type: 'language' });
    return (code: string) => names.of(code) ?? code;
  })();
  const weekday = (n: number) => new Intl.DateTimeFormat(language.locale, { weekday: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, n)));
  const date = new Intl.DateTimeFormat(language.locale, { dateStyle: 'long', timeZone: 'Europe/Berlin' }).format(input.at);
  const qr = await QRCode.toString(input.qrUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  const orgs = input.organizations.filter((o) => o.offers.length > 0);

  const ages = (o: dir.DirectoryOffer) =>
    o.minimumAge && o.maximumAge ? fill(t.agesUpTo, { from: String(o.minimumAge), to: String(o.maximumAge) }) : o.minimumAge ? fill(t.agesFrom, { from: String(o.minimumAge) }) : '';
  const hours = (l: dir.DirectoryLocation) => {
    // Consecutive days with the same hours in one line: "Mo–Do 09:00–16:00".
    const byTimes = new Map<string, number[]>();
    for (const h of [...l.openingHours].sort((a, b) => a.weekday - b.weekday || a.opensAt.localeCompare(b.opensAt))) {
      const key = `${h.opensAt}–${h.closesAt}`;
      byTimes.set(key, [...(byTimes.get(key) ?? []), h.weekday]);
    }
    return [...byTimes]
      .map(([times, days]) => {
        const span = days.length > 2 && days[days.length - 1]! - days[0]! === days.length - 1 ? `${weekday(days[0]!)}–${weekday(days[days.length - 1]!)}` : days.map(weekday).join(', ');
        return `${escapeHtml(span)} ${ltr(times)}`;
      })
      .join('<br>');
  };

  const offerHtml = (o: dir.DirectoryOffer) => `
      <div class="offer">
        <h3 lang="de" dir="ltr">${escapeHtml(o.name)}</h3>
        ${o.description ? `<p lang="de" dir="ltr">${escapeHtml(o.description)}</p>` : ''}
        <dl>
          ${o.languagesOffered.length ? `<dt>${escapeHtml(t.languages)}</dt><dd>${o.languagesOffered.map((c) => escapeHtml(languageName(c))).join(', ')}</dd>` : ''}
          ${ages(o) ? `<dt>${escapeHtml(t.ages)}</dt><dd>${escapeHtml(ages(o))}</dd>` : ''}
          <dt>${escapeHtml(t.fees)}</dt><dd>${o.freeOfCharge ? escapeHtml(t.free) : `<span lang="de" dir="ltr">${escapeHtml(o.feesDescription)}</span>`}</dd>
          ${o.applicationProcess ? `<dt>${escapeHtml(t.howToApply)}</dt><dd lang="de" dir="ltr">${escapeHtml(o.applicationProcess)}</dd>` : ''}
          ${o.requiredDocuments.length ? `<dt>${escapeHtml(t.documents)}</dt><dd lang="de" dir="ltr">${o.requiredDocuments.map(escapeHtml).join(', ')}</dd>` : ''}
        </dl>
      </div>`;

  const orgHtml = (org: dir.DirectoryOrganization) => {
    const locations = org.locations.filter((l) => org.offers.some((o) => o.locationIds.includes(l.id)));
    const contacts = org.contacts.filter((c) => !c.offerId || org.offers.some((o) => o.id === c.offerId));
    return `
    <section class="org">
      <h2 lang="de" dir="ltr">${escapeHtml(org.name)}</h2>
      ${org.offers.map(offerHtml).join('')}
      <div class="facts">
        ${
          locations.length
            ? `<div><h4>${escapeHtml(t.whereWhen)}</h4>${locations
                .map((l) => `<p>${ltr(`${l.name}, ${l.street}, ${l.postalCode} ${l.city}`)}${l.wheelchairAccessible ? ` · ${escapeHtml(t.wheelchair)}` : ''}<br>${hours(l)}</p>`)
                .join('')}</div>`
            : ''
        }
        ${
          contacts.length
            ? `<div><h4>${escapeHtml(t.contact)}</h4>${contacts
                .map((c) => `<p><span lang="de" dir="ltr">${escapeHtml(c.role)}</span>${c.phone ? `<br>☎ ${ltr(c.phone)}` : ''}${c.email ? `<br>✉ ${ltr(c.email)}` : ''}</p>`)
                .join('')}</div>`
            : ''
        }
      </div>
    </section>`;
  };

  const title = fill(t.title, { municipality: input.municipality.name });
  return `<!doctype html>
<html lang="${language.code}" dir="${language.direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  @page { size: A4; margin: 14mm 14mm 16mm; }
  html { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans Arabic", Tahoma, Arial, sans-serif; font-size: 10pt; line-height: 1.4; color: #111; background: #fff; }
  body { margin: 0 auto; max-width: 190mm; }
  html[dir="rtl"] body { text-align: right; }
  header { display: flex; gap: 8mm; align-items: center; border-bottom: 3px solid #1d4e89; padding-bottom: 4mm; margin-bottom: 4mm; }
  header .qr { flex: 0 0 32mm; text-align: center; font-size: 8pt; }
  header .qr svg { width: 32mm; height: 32mm; }
  h1 { font-size: 1.7rem; margin: 0 0 .3rem; color: #1d4e89; }
  .intro { margin: 0; }
  .note { font-size: .85rem; color: #444; margin: .3rem 0 0; }
  .org { break-inside: avoid; border: 1px solid #bbb; border-radius: 2mm; padding: 3mm 4mm; margin: 0 0 4mm; }
  h2 { font-size: 1.1rem; margin: 0 0 .3rem; }
  h3 { font-size: 1rem; margin: .4rem 0 .1rem; }
  h4 { font-size: .9rem; margin: .3rem 0 .1rem; }
  html[dir="rtl"] [dir="ltr"] { text-align: left; }
  .offer p { margin: .1rem 0; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .05rem .6rem; margin: .2rem 0; }
  dt { font-weight: bold; }
  dd { margin: 0; }
  .facts { display: grid; grid-template-columns: 1fr 1fr; gap: 0 6mm; }
  .facts p { margin: .1rem 0 .3rem; }
  footer { font-size: .8rem; color: #444; margin-top: 4mm; }
</style>
</head>
<body>
<header>
  <div>
    <h1>${escapeHtml(title)}</h1>
    <p class="intro">${escapeHtml(t.intro)}</p>
    <p class="note">${escapeHtml(t.germanNote)}</p>
  </div>
  <div class="qr">${qr}<div>${escapeHtml(t.qrCaption)}</div></div>
</header>
${orgs.length ? orgs.map(orgHtml).join('') : `<p>${escapeHtml(t.none)}</p>`}
<footer>${escapeHtml(fill(t.verified, { date }))} · ${ltr(input.qrUrl)}</footer>
</body>
</html>
`;
}
