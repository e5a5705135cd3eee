// Waits for cases to reach a state at the hub. The watcher follows the hub's timeline as it grows
// (one WatchTimeline stream for all journeys) and wakes the journeys whose case moved. Reading
// each waiting case again and again cost the hub ~3.7 ms of CPU per read and ~13 reads per
// journey — most of its work under load. A case that hears nothing for a while is read once
// (GetCaseTimeline), so a broken stream or a network without WatchTimeline only makes waits slower.
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { common, lotsenhaus as hub } from '@lotse/contracts';
import { codeOf, retrying, type ScenarioNetwork } from './network.js';

type Summary = hub.CaseSummary;
type Timeline = hub.GetCaseTimelineResponse;

interface CaseView {
  summary?: Summary;
  entries: hub.TimelineEntry[];
  /** Wakes the journeys waiting on this case. */
  waiters: Set<() => void>;
}

export class HubWatcher {
  /** GetCaseTimeline calls made while waiting (fallback reads). */
  calls = 0;
  /** Steps received through the stream. */
  streamed = 0;
  private readonly cases = new Map<string, CaseView>();
  private position = 0;
  private stream: ClientReadableStream<hub.WatchTimelineResponse> | undefined;
  private streaming = true;
  private closed = false;

  constructor(
    private readonly net: ScenarioNetwork,
    /** How long a waiting case may hear nothing before it is read directly. */
    private readonly quietMs = 15_000,
  ) {}

  /** Opens the stream; steps from now on reach the waiting journeys. */
  start(): void {
    if (this.closed || !this.streaming) return;
    const stream = this.net.hub.raw.watchTimeline(hub.WatchTimelineRequest.fromPartial({ afterPosition: this.position }));
    this.stream = stream;
    stream.on('data', (m: hub.WatchTimelineResponse) => {
      this.position = Math.max(this.position, m.position);
      this.streamed++;
      const view = this.view(m.caseRef);
      if (m.entry) view.entries.push(m.entry);
      if (m.caseSummary) view.summary = m.caseSummary;
      for (const wake of view.waiters) wake();
    });
    stream.on('error', (error) => {
      if (this.closed || this.stream !== stream) return;
      // An older hub without the stream: the waits fall back to reading cases.
      if (codeOf(error) === status.UNIMPLEMENTED) {
        this.streaming = false;
        return;
      }
      // The hub restarted or the stream was cut: resume after the last step seen.
      setTimeout(() => this.start(), 500);
    });
  }

  close(): void {
    this.closed = true;
    this.stream?.cancel();
  }

  /** The journey is over: its case need not be followed any more. */
  forget(caseRef: string | undefined): void {
    if (caseRef && this.cases.get(caseRef)?.waiters.size === 0) this.cases.delete(caseRef);
  }

  private view(caseRef: string): CaseView {
    let view = this.cases.get(caseRef);
    if (!view) {
      view = { entries: [], waiters: new Set() };
      this.cases.set(caseRef, view);
    }
    return view;
  }

  /** Resolves with the case summary once `pick` accepts it; rejects after `timeoutMs`. */
  async until(caseRef: string, what: string, pick: (s: Summary) => boolean, timeoutMs = 120_000): Promise<Summary> {
    return (await this.untilTimeline(caseRef, what, (t) => pick(t.caseSummary!), timeoutMs)).caseSummary!;
  }

  /** Resolves with the case's summary and timeline once `pick` accepts them; rejects after `timeoutMs`. */
  async untilTimeline(caseRef: string, what: string, pick: (t: Timeline) => boolean, timeoutMs = 120_000): Promise<Timeline> {
    const deadline = Date.now() + timeoutMs;
    const view = this.view(caseRef);
    const current = (): Timeline | undefined => (view.summary ? { caseSummary: view.summary, entries: view.entries } : undefined);
    let quietSince = Date.now();
    for (;;) {
      const seen = current();
      if (seen && pick(seen)) return seen;
      const now = Date.now();
      if (now > deadline) {
        const where = view.summary ? `${common.referralStatusToJSON(view.summary.status)} at ${view.summary.currentAgencyId}` : 'not at the hub';
        throw new Error(`hub: timed out waiting for ${what} (case ${caseRef}: ${where})`);
      }
      if (!this.streaming || now - quietSince >= this.quietMs) {
        await this.read(caseRef, view);
        quietSince = Date.now();
        const read = current();
        if (read && pick(read)) return read;
      }
      // Woken by a step of this case, or after a quiet spell (to read it), whichever comes first.
      const wait = Math.max(0, Math.min(deadline, quietSince + (this.streaming ? this.quietMs : 500)) - Date.now());
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          view.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, wait);
        view.waiters.add(wake);
      });
    }
  }

  /** One direct read of the case; it replaces what the stream delivered so far. */
  private async read(caseRef: string, view: CaseView): Promise<void> {
    this.calls++;
    try {
      const t = await retrying(() => this.net.hub.getCaseTimeline({ caseRef }), 'GetCaseTimeline');
      view.summary = t.caseSummary;
      view.entries = t.entries;
    } catch (error) {
      if (codeOf(error) !== status.NOT_FOUND) throw error;
    }
  }
}

