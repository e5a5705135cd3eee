// The end of a run: whether the hub's view of each journey's case is what the journey expected.
import { common, type lotsenhaus as hub } from '@lotse/contracts';
import type { JourneyRecord } from './journey-record.js';

/** Whether the hub's view of the case shows the journey as expected. */
export function accountFor(record: JourneyRecord, t: hub.GetCaseTimelineResponse | undefined): { ok: boolean; why?: string } {
  const exp = record.expectation;
  if (!exp) return { ok: false, why: record.error ?? 'journey did not finish' };
  if (!t) return { ok: false, why: 'case not found at the hub' };
  const summary = t.caseSummary!;
  // A journey whose client gave up mid-way (its retry budget spent) is not accounted for; say why,
  // rather than compare the hub with the expectation of its last finished step.
  if (record.state === 'failed') return { ok: false, why: `the scenario gave up on it (${record.error}); the hub has it ${common.referralStatusToJSON(summary.status)}` };
  const statusOk = exp.statuses.includes(summary.status) || (exp.escalatedCounts === true && Boolean((summary as { escalated?: boolean }).escalated));
  let at = 0;
  for (const e of t.entries) if (at < exp.events.length && e.eventType === exp.events[at]) at++;
  if (!statusOk) return { ok: false, why: `hub status ${common.referralStatusToJSON(summary.status)}, expected ${exp.statuses.map((s) => common.referralStatusToJSON(s)).join(' or ')}` };
  if (at < exp.events.length) return { ok: false, why: `timeline lacks ${exp.events.slice(at).join(', ')} (has ${t.entries.map((e) => e.eventType).join(', ')})` };
  return { ok: true };
}
