// The timeline as it grows, for WatchTimeline: one poller per hub process reads the steps
// recorded since the last poll (one query, however many watchers) and hands them to every
// watcher. Before, a dashboard or the scenario following N cases read each case again and again;
// a read cost the hub ~3.7 ms of CPU, and waiting journeys made ~13 of them each.
import { lotsenhaus } from '@lotse/contracts';
import { ResourceExhaustedError } from '@lotse/grpc';
import type { Logger } from '@lotse/logger';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CaseIndexTable, HubDb, TimelineEntryTable } from '../db/schema.js';
import { timelineTexts, type NameOf } from './timeline-text.js';

export type TimelineRow = Selectable<TimelineEntryTable>;
type CaseRow = Selectable<CaseIndexTable>;

export interface FeedOptions {
  /** How often the poller looks for new steps while someone watches. */
  pollMs: number;
  /** Steps queued for one watcher that does not read; beyond it the stream ends (resume later). */
  maxQueued: number;
  batch: number;
}

export const defaultFeedOptions: FeedOptions = { pollMs: 100, maxQueued: 10_000, batch: 500 };

/**
 * A hole in `seq` below a step already seen: the step of a transaction that drew its number but
 * had not committed when the poller read, or of one that never will (rolled back, or its insert
 * hit ON CONFLICT DO NOTHING). Only transactions running at that read can fill it: the hole's
 * transaction drew its number (and, by the column default, its transaction id) before the later
 * step was drawn and committed. Once the oldest running transaction is newer than everything that
 * ran then, the hole is final. Waiting a fixed time instead passed over steps whose transaction
 * was merely slow, under load, and a watcher never saw them.
 */
interface Hole {
  seq: number;
  /** The snapshot's xmax when the hole was seen: every transaction running then is older. */
  horizon: bigint;
}

/** A stored step as the API shows it, with its text (see timeline-text.ts). */
export function toTimelineEntry(e: TimelineRow, summary: string): lotsenhaus.TimelineEntry {
  return lotsenhaus.TimelineEntry.fromPartial({
    eventId: e.event_id,
    eventType: e.event_type,
    agencyId: e.agency_id,
    occurredAt: e.occurred_at,
    recordedAt: e.recorded_at,
    traceId: e.trace_id,
    referralId: e.referral_id,
    summary,
  });
}

export function toCaseSummary(row: CaseRow): lotsenhaus.CaseSummary {
  return lotsenhaus.CaseSummary.fromPartial({
    caseRef: row.case_ref,
    status: row.status,
    currentAgencyId: row.current_agency_id,
    referralId: row.referral_id,
    municipality: row.municipality,
    ageGroup: row.age_group,
    openedAt: row.opened_at,
    updatedAt: row.updated_at,
    escalated: row.escalated,
    waitingSince: row.updated_at,
  });
}

type Listener = (rows: readonly TimelineRow[], cases: ReadonlyMap<string, CaseRow>, texts: ReadonlyMap<string, string>) => void;

export class TimelineFeed {
  private readonly listeners = new Set<Listener>();
  /** The last position handed to listeners; undefined while nobody watches. */
  private head: number | undefined;
  private hole: Hole | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<HubDb>,
    private readonly logger: Logger,
    private readonly options: FeedOptions = defaultFeedOptions,
    private readonly nameOf: NameOf = (id) => id,
  ) {}

  /**
   * Sends every step after `afterPosition` (0: from now on), only `caseRef`'s when given, until
   * `signal` aborts. Steps recorded before the watcher came are read from the table first.
   */
  async follow(
    { afterPosition, caseRef, canSee }: { afterPosition: number; caseRef?: string; canSee?: (caseRefs: readonly string[]) => Promise<Set<string>> },
    signal: AbortSignal,
    send: (item: lotsenhaus.WatchTimelineResponse) => Promise<void>,
  ): Promise<void> {
    const queue: lotsenhaus.WatchTimelineResponse[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const listener: Listener = (rows, cases, texts) => {
      for (const row of rows) {
        if (caseRef && row.case_ref !== caseRef) continue;
        queue.push(toResponse(row, cases.get(row.case_ref), texts));
      }
      if (queue.length > this.options.maxQueued) overflow = true;
      wake?.();
    };
    // Listen first, then catch up to the head the listener starts at: nothing falls in between.
    const head = await this.subscribe(listener);
    const stopWaiting = () => wake?.();
    signal.addEventListener('abort', stopWaiting);
    try {
      let sent = afterPosition > 0 ? afterPosition : head;
      while (sent < head && !signal.aborted) {
        let rows = this.db.selectFrom('timeline_entry').selectAll().where('seq', '>', sent).where('seq', '<=', head);
        if (caseRef) rows = rows.where('case_ref', '=', caseRef);
        const page = await rows.orderBy('seq').limit(this.options.batch).execute();
        if (page.length === 0) break;
        const cases = await this.casesOf(page);
        const texts = await timelineTexts(this.db, page, this.nameOf);
        const visible = canSee && (await canSee(page.map((r) => r.case_ref)));
        for (const row of page) if (!visible || visible.has(row.case_ref)) await send(toResponse(row, cases.get(row.case_ref), texts));
        sent = page[page.length - 1]!.seq;
      }
      while (!signal.aborted) {
        if (overflow) throw new ResourceExhaustedError(`the watcher fell more than ${this.options.maxQueued} steps behind; resume after the last position received`);
        if (queue.length) {
          const batch = queue.splice(0).filter((m) => m.position > sent);
          // Which of them this watcher may see: one look-up per batch, not per step.
          const visible = canSee && batch.length ? await canSee(batch.map((m) => m.caseRef)) : undefined;
          for (const next of batch) {
            if (!visible || visible.has(next.caseRef)) await send(next);
            sent = next.position;
          }
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', stopWaiting);
      this.unsubscribe(listener);
    }
  }

  private async subscribe(listener: Listener): Promise<number> {
    if (this.head === undefined) {
      const head = await this.settledHead();
      // Another watcher may have started the feed while this one read the head.
      if (this.head === undefined) this.head = head;
    }
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.options.pollMs);
      this.timer.unref();
    }
    return this.head;
  }

  /**
   * Where the feed starts: the last step below which nothing can still arrive. The highest seq
   * is not that: a transaction that drew a lower one may not have committed yet, and the feed
   * would pass over its step for good (seen when a watcher's stream was restarted under load).
   * So it starts before the first hole among the latest steps, and the poller waits for the
   * hole to be filled or final as for any other. (A transaction that drew its number more than
   * `initWindow` steps ago and still runs is not looked for.)
   */
  private async settledHead(initWindow = 1000): Promise<number> {
    const rows = await this.db
      .selectFrom('timeline_entry')
      .select('seq')
      .where('seq', '>', (eb) => eb.selectFrom('timeline_entry').select(sql<number>`coalesce(max(seq), 0) - ${initWindow}`.as('floor')))
      .orderBy('seq')
      .execute();
    if (rows.length === 0) {
      const { max } = await this.db.selectFrom('timeline_entry').select((eb) => eb.fn.max('seq').as('max')).executeTakeFirstOrThrow();
      return Number(max ?? 0);
    }
    let head = rows[0]!.seq;
    for (const { seq } of rows.slice(1)) {
      if (seq !== head + 1) break;
      head = seq;
    }
    return head;
  }

  private unsubscribe(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stopPolling();
  }

  private stopPolling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.head = undefined;
    this.hole = undefined;
  }

  private poll(): Promise<void> {
    // One poll at a time: a slow one must not overlap the next tick.
    this.polling ??= this.readNewSteps()
      .catch((err) => this.logger.warn({ err }, 'timeline feed: reading new steps failed; trying again'))
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async readNewSteps(): Promise<void> {
    const from = this.head;
    if (from === undefined) return;
    // The rows and the snapshot they were read with, in one statement (one snapshot).
    const { rows } = await sql<TimelineRow & { snap_xmin: string; snap_xmax: string }>`
      select t.*, pg_snapshot_xmin(s.snap)::text as snap_xmin, pg_snapshot_xmax(s.snap)::text as snap_xmax
      from (select pg_current_snapshot() as snap) s
      left join lateral (select * from timeline_entry where seq > ${from} order by seq limit ${this.options.batch}) t on true
      order by t.seq`.execute(this.db);
    if (this.head !== from || rows.length === 0) return; // stopped or restarted meanwhile
    const xmin = BigInt(rows[0]!.snap_xmin);
    const xmax = BigInt(rows[0]!.snap_xmax);
    const accepted: TimelineRow[] = [];
    let expected = from + 1;
    for (const { snap_xmin: _, snap_xmax: __, ...row } of rows) {
      if (row.seq === null) break; // no step after the head
      if (row.seq !== expected) {
        // Passed over only once no transaction that was running when it was first seen still runs.
        if (this.hole?.seq !== expected) this.hole = { seq: expected, horizon: xmax };
        if (xmin < this.hole.horizon) break;
        this.hole = undefined;
      }
      accepted.push(row as TimelineRow);
      expected = row.seq + 1;
    }
    if (accepted.length === 0) return;
    this.head = accepted[accepted.length - 1]!.seq;
    const cases = await this.casesOf(accepted);
    const texts = await timelineTexts(this.db, accepted, this.nameOf);
    for (const listener of this.listeners) listener(accepted, cases, texts);
  }

  private async casesOf(rows: readonly TimelineRow[]): Promise<Map<string, CaseRow>> {
    const refs = [...new Set(rows.map((r) => r.case_ref))];
    const found = refs.length ? await this.db.selectFrom('case_index').selectAll().where('case_ref', 'in', refs).execute() : [];
    return new Map(found.map((c) => [c.case_ref, c]));
  }
}

function toResponse(row: TimelineRow, summary: CaseRow | undefined, texts: ReadonlyMap<string, string>): lotsenhaus.WatchTimelineResponse {
  return lotsenhaus.WatchTimelineResponse.fromPartial({
    position: row.seq,
    caseRef: row.case_ref,
    entry: toTimelineEntry(row, texts.get(row.event_id) ?? row.summary),
    caseSummary: summary ? toCaseSummary(summary) : undefined,
  });
}
