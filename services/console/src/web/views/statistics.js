// Bedarfsanalyse / needs assessment: the coordination circle's anonymous tables from the hub,
// in German with English, printable for the meeting (the browser's "Print → Save as PDF").
// Suppressed cells are shown as "•", never filled in.
import { api, errorBox, esc } from '../lib.js';

const measureNames = {
  referred: ['Überwiesen', 'Referred'],
  'counselling-started': ['Beratung begonnen', 'Counselling started'],
  declined: ['Abgelehnt', 'Declined'],
  're-routed': ['Weitergeleitet', 'Re-routed'],
  unroutable: ['Nicht vermittelbar', 'Unroutable'],
  escalated: ['Frist abgelaufen', 'Expired, escalated'],
  withdrawn: ['Zurückgezogen', 'Withdrawn'],
  'language-course-decided': ['Sprachkurs entschieden', 'Language course decided'],
  placed: ['Vermittelt', 'Placed'],
  completed: ['Abgeschlossen', 'Completed'],
};
const dimensionNames = {
  STATISTICS_DIMENSION_MUNICIPALITY: ['Kommune', 'Municipality'],
  STATISTICS_DIMENSION_AGE_GROUP: ['Altersgruppe', 'Age group'],
  STATISTICS_DIMENSION_PROVIDER: ['Träger', 'Provider'],
  STATISTICS_DIMENSION_PURPOSE: ['Zweck', 'Purpose'],
  STATISTICS_DIMENSION_LANGUAGE: ['Sprache', 'Language'],
};
const durationNames = {
  'first-counselling-contact': ['Tage bis zum ersten Beratungskontakt', 'Days to the first counselling contact'],
  'language-course-decision': ['Tage bis zur Sprachkursentscheidung', 'Days to the language-course decision'],
};
const both = ([de, en]) => `${esc(de)} <span class="en">/ ${esc(en)}</span>`;
const iso = (d) => d.toISOString().slice(0, 10);
/** Days as the circle reads them: days with one decimal, under a day in hours, under an hour in
 * minutes (a demo network's steps are minutes apart; "0.0 h" would say nothing). */
const fmtDays = (v) => (v == null ? '–' : v < 1 / 24 ? `${Math.round(v * 1440)} min` : v < 1 ? `${(v * 24).toFixed(1)} h` : `${v.toFixed(1)} d`);

/** One table per dimension: rows are the dimension's values, columns the measures. */
function countTable(dimension, tables) {
  const own = tables.filter((t) => (t.dimension ?? '') === dimension);
  const keys = [...new Map(own.flatMap((t) => (t.cells ?? []).map((c) => [c.key, c.label ?? c.key]))).entries()];
  const cell = (t, key) => {
    if (t.withheld) return '<td class="num muted" title="nicht veröffentlicht / not published">–</td>';
    const c = (t.cells ?? []).find((x) => x.key === key);
    if (!c) return '<td class="num">0</td>';
    return c.suppressed ? '<td class="num suppressed" title="unterdrückt / suppressed">•</td>' : `<td class="num">${esc(c.count ?? 0)}</td>`;
  };
  return `<table class="stats"><thead><tr><th>${both(dimensionNames[dimension] ?? [dimension, dimension])}</th>${own.map((t) => `<th class="num">${both(measureNames[t.measure] ?? [t.measure, t.measure])}</th>`).join('')}</tr></thead>
    <tbody>${keys.map(([key, label]) => `<tr><td>${esc(label)}</td>${own.map((t) => cell(t, key)).join('')}</tr>`).join('')}
    <tr class="total"><td>Summe <span class="en">/ Total</span></td>${own.map((t) => `<td class="num">${t.withheld ? '–' : esc(t.total ?? 0)}</td>`).join('')}</tr></tbody></table>`;
}

/** Bars of median (dark) and 90th percentile (light) days per row. */
function durationChart(d) {
  const rows = (d.rows ?? []).filter((r) => !r.suppressed);
  const max = Math.max(1, ...rows.map((r) => r.p90Days ?? 0), d.overallP90Days ?? 0);
  const bar = (label, median, p90) => `<div class="bar-row"><div class="bar-label">${label}</div><div class="bar-track">
      <div class="bar p90" style="width:${(100 * (p90 ?? 0)) / max}%"></div><div class="bar median" style="width:${(100 * (median ?? 0)) / max}%"></div></div>
      <div class="bar-value">${esc(fmtDays(median ?? 0))} / ${esc(fmtDays(p90 ?? 0))}</div></div>`;
  const hidden = (d.rows ?? []).filter((r) => r.suppressed).length;
  return `<div class="chart">
    ${d.overallSuppressed ? '<p class="muted">Zu wenige Fälle / too few cases.</p>' : bar('<strong>Gesamt <span class="en">/ Overall</span></strong>', d.overallMedianDays, d.overallP90Days)}
    ${rows.map((r) => bar(esc(r.label ?? r.key), r.medianDays, r.p90Days)).join('')}
    ${hidden ? `<p class="muted small">${hidden} Zeile(n) unterdrückt / row(s) suppressed.</p>` : ''}
  </div>`;
}

export async function render(root, ctx) {
  const to = ctx.query.get('to') ?? iso(new Date(Date.now() + 86_400_000));
  const from = ctx.query.get('from') ?? iso(new Date(Date.now() - 365 * 86_400_000));
  root.innerHTML = `
    <h1>Bedarfsanalyse <span class="en">/ Needs assessment</span></h1>
    <p class="lead">Anonyme Zahlen für den Koordinierungskreis, aus der pseudonymen Zeitleiste des Lotsenhauses. Felder mit weniger Fällen als dem Mindestwert – und so viele weitere, dass sich keines aus den Summen zurückrechnen lässt – sind unterdrückt (•).
      <span class="en">Anonymous figures for the coordination circle from the hub's pseudonymous timeline. Cells below the minimum count, and enough others that none can be recomputed from the totals, are suppressed (•).</span></p>
    <form class="panel filters noprint" id="period">
      <label>Von <span class="en">/ From</span> <input type="date" name="from" value="${esc(from)}"></label>
      <label>Bis <span class="en">/ To</span> <input type="date" name="to" value="${esc(to)}"></label>
      <button type="submit">Anzeigen <span class="en">/ Show</span></button>
      <button type="button" id="print">Drucken <span class="en">/ Print</span></button>
    </form>
    <div id="out"><div class="empty">…</div></div>`;
  root.querySelector('#period').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    location.hash = `#/statistics?from=${encodeURIComponent(f.get('from'))}&to=${encodeURIComponent(f.get('to'))}`;
  });
  root.querySelector('#print').addEventListener('click', () => window.print());
  const out = root.querySelector('#out');
  try {
    const data = await api(`/api/statistics?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const tables = data.tables ?? [];
    const dims = [...new Set(tables.map((t) => t.dimension))];
    const cohort = tables.find((t) => t.measure === 'referred');
    out.innerHTML = `
      <p>Zeitraum <span class="en">/ period</span>: <strong>${esc(from)} – ${esc(to)}</strong> · Mindestwert <span class="en">/ minimum count</span>: <strong>${esc(data.minCount)}</strong>
        ${cohort?.withheld ? ' · <strong>Zu wenige Fälle: nichts veröffentlicht / too few cases: nothing published</strong>' : ''}</p>
      ${(data.durations ?? [])
        .filter((d) => d.dimension === 'STATISTICS_DIMENSION_MUNICIPALITY')
        .map((d) => `<section class="panel"><h2>${both(durationNames[d.measure] ?? [d.measure, d.measure])}</h2><p class="small muted">Median (dunkel) und 90. Perzentil (hell), Tage ab der ersten Überweisung <span class="en">/ median (dark) and 90th percentile (light), days from the first referral</span></p>${durationChart(d)}</section>`)
        .join('')}
      ${dims.map((d) => `<section class="panel"><h2>${both(dimensionNames[d] ?? [d, d])}</h2>${countTable(d, tables)}</section>`).join('')}
      <p class="small muted">CSV: <a href="data:text/csv;charset=utf-8,${encodeURIComponent(data.csv ?? '')}" download="bedarfsanalyse-${esc(from)}-${esc(to)}.csv">bedarfsanalyse.csv</a></p>`;
  } catch (error) {
    out.innerHTML = errorBox(error);
  }
}
