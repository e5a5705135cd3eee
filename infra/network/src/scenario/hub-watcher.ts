// Waits for cases to reach a state at the hub. Each wait polls the case's summary
// (GetCaseTimeline), first after about as long as such waits have recently taken, then backing
// off: hundreds of journeys in flight cost the hub a couple of reads per step each, not a stream.
// (Sweeping ListCases for all journeys at once was tried: it reads every case the hub holds,
// which grows with each run, and loaded the hub more.)
import { status } from '@grpc/grpc-js';
import { common, lotsenhaus as hub } from '@lotse/contracts';
import { codeOf, retrying, type ScenarioNetwork } from './network.js';

type Summary = hub.CaseSummary;
type Timeline = hub.GetCaseTimelineResponse;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HubWatcher {
  /** Recent wait durations (ms), to time the first poll. */
  private readonly recent: number[] = [];
  /** GetCaseTimeline calls made while waiting. */
  calls = 0;

  constructor(private readonly net: ScenarioNetwork) {}

  private firstPause(): number {
    if (this.recent.length < 5) return 150;
    const sorted = [...this.recent].sort((a, b) => a - b);
    return Math.min(3000, Math.max(100, sorted[Math.floor(sorted.length / 2)]! * 0.8));
  }

  /** Resolves with the case summary once `pick` accepts it; rejects after `timeoutMs`. */
  async until(caseRef: string, what: string, pick: (s: Summary) => boolean, timeoutMs = 120_000): Promise<Summary> {
    return (await this.untilTimeline(caseRef, what, (t) => pick(t.caseSummary!), timeoutMs)).caseSummary!;
  }

  /** Resolves with the case's summary and timeline once `pick` accepts them; rejects after `timeoutMs`. */
  async untilTimeline(caseRef: string, what: string, pick: (t: Timeline) => boolean, timeoutMs = 120_000): Promise<Timeline> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    let pause = this.firstPause();
    let first = true;
    for (;;) {
      let t: Timeline | undefined;
      try {
        this.calls++;
        t = await retrying(() => this.net.hub.getCaseTimeline({ caseRef }), 'GetCaseTimeline');
      } catch (error) {
        if (codeOf(error) !== status.NOT_FOUND) throw error;
      }
      const s = t?.caseSummary;
      if (t && s && pick(t)) {
        if (!first) {
          this.recent.push(Date.now() - started);
          if (this.recent.length > 100) this.recent.shift();
        }
        return t;
      }
      if (Date.now() > deadline) {
        const where = s ? `${common.referralStatusToJSON(s.status)} at ${s.currentAgencyId}` : 'not at the hub';
        throw new Error(`hub: timed out waiting for ${what} (case ${caseRef}: ${where})`);
      }
      first = false;
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
      pause = Math.min(pause * 1.5, 2000);
    }
  }
}
