import { common, statistics as st } from '@lotse/contracts';
import type { CaseSteps } from './timeline-query.js';
import { suppress } from './disclosure-control.js';

const { StatisticsDimension: D } = st;

/** A measure: which cases of the cohort count, by the kinds of their steps. */
export const measures: { key: string; de: string; en: string; counts: (kinds: Set<string>, c: CaseSteps) => boolean }[] = [
  { key: 'referred', de: 'Überwiesen', en: 'Referred', counts: () => true },
  { key: 'counselling-started', de: 'Beratung begonnen', en: 'Counselling started', counts: (k) => k.has('FirstContactRecorded') },
  { key: 'declined', de: 'Abgelehnt', en: 'Declined', counts: (k) => k.has('ReferralDeclined') },
  { key: 're-routed', de: 'Weitergeleitet', en: 'Re-routed', counts: (_k, c) => c.steps.filter((s) => s.kind === 'ReferralRouted').length > 1 || c.steps.some((s) => s.kind === 'ProviderSkipped') },
  { key: 'unroutable', de: 'Nicht vermittelbar', en: 'Unroutable', counts: (k) => k.has('ReferralUnroutable') },
  { key: 'escalated', de: 'Frist abgelaufen', en: 'Expired and escalated', counts: (k) => k.has('ReferralEscalated') },
  { key: 'withdrawn', de: 'Zurückgezogen', en: 'Withdrawn', counts: (k) => [...k].some((x) => x.startsWith('ReferralWithdrawn') || x === 'ConsentWithdrawn') },
  { key: 'language-course-decided', de: 'Sprachkurs entschieden', en: 'Language course decided', counts: (k) => k.has('LanguageCourseFundingDecided') },
  { key: 'placed', de: 'Vermittelt', en: 'Placed', counts: (k) => k.has('PlacementRecorded') },
  { key: 'completed', de: 'Abgeschlossen', en: 'Completed', counts: (k) => k.has('ReferralCompleted') },
];

const durationMeasures = [
  { key: 'first-counselling-contact', kind: 'FirstContactRecorded', table: 'counselling-started' },
  { key: 'language-course-decision', kind: 'LanguageCourseFundingDecided', table: 'language-course-decided' },
];

export interface Labels {
  municipality: (code: string) => string;
  provider: (id: string) => string;
}

const ageLabels: Record<number, string> = { [common.AgeGroup.AGE_GROUP_YOUTH]: '12–26', [common.AgeGroup.AGE_GROUP_ADULT]: '27+' };

// The circle reads German; the English is beside it on the page (services/console).
const purposeLabels: Record<number, string> = {
  [common.Purpose.PURPOSE_MIGRATION_COUNSELLING]: 'Migrationsberatung',
  [common.Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION]: 'Arbeitsmarktintegration',
  [common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT]: 'Kompetenzfeststellung',
  [common.Purpose.PURPOSE_LANGUAGE_COURSE]: 'Sprachkurs',
  [common.Purpose.PURPOSE_QUALIFICATION]: 'Qualifizierung',
  [common.Purpose.PURPOSE_JOB_PLACEMENT]: 'Vermittlung in Arbeit',
};
const purposeKey = (p: number) => (p && common.purposeToJSON(p) !== 'UNRECOGNIZED' ? common.purposeToJSON(p).replace(/^PURPOSE_/, '').toLowerCase() : '(unbekannt)');
const purposeByKey = new Map(Object.entries(purposeLabels).map(([p, label]) => [purposeKey(Number(p)), label]));
const languageNames = new Intl.DisplayNames(['de'], { type: 'language', fallback: 'code' });

function keyOf(c: CaseSteps, dimension: st.StatisticsDimension): string {
  if (dimension === D.STATISTICS_DIMENSION_PURPOSE) return purposeKey(c.purpose);
  if (dimension === D.STATISTICS_DIMENSION_LANGUAGE) return c.language || '(keine Angabe)';
  if (dimension === D.STATISTICS_DIMENSION_MUNICIPALITY) return c.municipality || '(unbekannt)';
  if (dimension === D.STATISTICS_DIMENSION_AGE_GROUP) return ageLabels[c.ageGroup] ?? '(unbekannt)';
  return c.steps.find((s) => s.kind === 'ReferralReceived' || s.kind === 'ReferralAccepted')?.agencyId ?? '(keiner)';
}

function labelOf(key: string, dimension: st.StatisticsDimension, labels: Labels): string {
  if (dimension === D.STATISTICS_DIMENSION_MUNICIPALITY) return labels.municipality(key);
  if (dimension === D.STATISTICS_DIMENSION_PROVIDER) return labels.provider(key);
  if (dimension === D.STATISTICS_DIMENSION_PURPOSE) return purposeByKey.get(key) ?? key;
  if (dimension === D.STATISTICS_DIMENSION_LANGUAGE && !key.startsWith('(')) return languageNames.of(key) ?? key;
  return key;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// Thousandths of a day (about 1.5 minutes): a demo network's steps are minutes apart, real ones days.
const days = (ms: number) => Math.round((ms / 86_400_000) * 1000) / 1000;

export function computeStatistics(cases: CaseSteps[], dimensions: st.StatisticsDimension[], minCount: number, labels: Labels): Pick<st.GetStatisticsResponse, 'tables' | 'durations'> {
  const kindsOf = new Map(cases.map((c) => [c.caseRef, new Set(c.steps.map((s) => s.kind))]));
  const tables: st.StatisticsTable[] = [];
  const durations: st.DurationTable[] = [];
  for (const dimension of dimensions) {
    // Every key that occurs in the cohort, so a measure's table has the same rows as the referrals'.
    const keys = [...new Set(cases.map((c) => keyOf(c, dimension)))].sort();
    const published = new Map<string, Map<string, boolean>>();
    for (const m of measures) {
      const counted = cases.filter((c) => m.counts(kindsOf.get(c.caseRef)!, c));
      const cells = keys.map((key) => ({ key, count: counted.filter((c) => keyOf(c, dimension) === key).length }));
      const t = suppress(cells, minCount);
      published.set(m.key, new Map((t.cells ?? []).map((c) => [c.key, !c.suppressed])));
      tables.push(
        st.StatisticsTable.fromPartial({
          measure: m.key,
          dimension,
          total: t.total ?? 0,
          withheld: t.withheld ?? '',
          cells: (t.cells ?? []).map((c) => ({ key: c.key, label: labelOf(c.key, dimension, labels), count: c.suppressed ? 0 : c.count, suppressed: c.suppressed })),
        }),
      );
    }
    for (const d of durationMeasures) {
      const spans = cases.flatMap((c) => {
        const start = c.steps.find((s) => s.kind === 'ReferralRequested')?.at;
        const end = c.steps.find((s) => s.kind === d.kind)?.at;
        return start && end ? [{ key: keyOf(c, dimension), days: days(end.getTime() - start.getTime()) }] : [];
      });
      const summary = (list: number[]) => {
        const sorted = [...list].sort((a, b) => a - b);
        return { medianDays: percentile(sorted, 50), p90Days: percentile(sorted, 90) };
      };
      const visible = published.get(d.table)!;
      const all = spans.map((s) => s.days);
      durations.push(
        st.DurationTable.fromPartial({
          measure: d.key,
          dimension,
          // A row only where the count table publishes its count: a median must not tell that a hidden cell is at least min.
          rows: keys.map((key) => {
            const list = spans.filter((s) => s.key === key).map((s) => s.days);
            const show = visible.get(key) === true && list.length >= minCount;
            return { key, label: labelOf(key, dimension, labels), suppressed: !show, ...(show ? (({ medianDays, p90Days }) => ({ medianDays, p90Days }))(summary(list)) : {}) };
          }),
          overallSuppressed: all.length < minCount,
          ...(all.length >= minCount ? (({ medianDays, p90Days }) => ({ overallMedianDays: medianDays, overallP90Days: p90Days }))(summary(all)) : {}),
        }),
      );
    }
  }
  return { tables, durations };
}

const dimensionNames: Record<number, string> = { [D.STATISTICS_DIMENSION_MUNICIPALITY]: 'municipality', [D.STATISTICS_DIMENSION_AGE_GROUP]: 'age-group', [D.STATISTICS_DIMENSION_PROVIDER]: 'provider', [D.STATISTICS_DIMENSION_PURPOSE]: 'purpose', [D.STATISTICS_DIMENSION_LANGUAGE]: 'language' };
export const dimensionName = (d: st.StatisticsDimension) => dimensionNames[d] ?? 'unknown';

/** CSV (RFC 4180): one line per cell and one per table total; a suppressed cell has an empty count. */
export function toCsv(tables: st.StatisticsTable[], durations: st.DurationTable[]): string {
  const q = (v: string | number) => (typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = ['measure,dimension,key,label,count,suppressed,median_days,p90_days'];
  for (const t of tables) {
    if (t.withheld) {
      lines.push([t.measure, dimensionName(t.dimension), '', '', '', `withheld: ${t.withheld}`, '', ''].map(q).join(','));
      continue;
    }
    for (const c of t.cells) lines.push([t.measure, dimensionName(t.dimension), c.key, c.label, c.suppressed ? '' : c.count, c.suppressed ? 'yes' : 'no', '', ''].map(q).join(','));
    lines.push([t.measure, dimensionName(t.dimension), 'total', 'Summe / Total', t.total, 'no', '', ''].map(q).join(','));
  }
  for (const d of durations) {
    for (const r of d.rows) lines.push([`days-to-${d.measure}`, dimensionName(d.dimension), r.key, r.label, '', r.suppressed ? 'yes' : 'no', r.suppressed ? '' : r.medianDays, r.suppressed ? '' : r.p90Days].map(q).join(','));
    lines.push([`days-to-${d.measure}`, dimensionName(d.dimension), 'total', 'Gesamt / Overall', '', d.overallSuppressed ? 'yes' : 'no', d.overallSuppressed ? '' : d.overallMedianDays, d.overallSuppressed ? '' : d.overallP90Days].map(q).join(','));
  }
  return `${lines.join('\n')}\n`;
}
