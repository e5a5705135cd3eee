// The steady stream of events and the exactly-once accounting of netns-federation.e2e.test.ts,
// by direct SQL in each deployment's database: the foreign office's outbox says what was
// written, the hub's effect table what its handler did, once per run.
import { enqueueEvent } from '@lotse/messaging';
import { sql, type Kysely } from '@lotse/db';
import { fo, hub } from './federation.js';

/** Writes one event every `everyMs` into the foreign office's outbox, as its services would. */
export function steadyStream(db: Kysely<any>, everyMs = 50) {
  let running = true;
  let written = 0;
  const loop = (async () => {
    while (running) {
      await db.transaction().execute((trx) =>
        enqueueEvent(trx, { producerAgencyId: fo.id, eventType: 'ReferralRequested', caseRef: `case-${written}`, payload: new Uint8Array([1, 2, 3]), audience: hub.id }),
      );
      written++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    written: () => written,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

export interface Accounting {
  /** Events in the outbox created up to the cut-off. */
  events: number;
  /** Of those, without an effect. */
  missing: number;
  /** Events (any) whose handler ran more than once: must be 0 at every look. */
  duplicated: string[];
  /** The latencies, created → applied, of the events created in [from, to], in ms. */
  latencies: number[];
  /** When the last of the events up to the cut-off was applied. */
  lastAppliedAt: Date | undefined;
}

/** One look: every event written up to `upTo`, against the hub's effects. */
export async function account(foDb: Kysely<any>, hubDb: Kysely<any>, upTo: Date, window?: { from: Date; to: Date }): Promise<Accounting> {
  const { rows: written } = await sql<{ event_id: string; created_at: Date }>`select event_id, created_at from outbox where created_at <= ${upTo}`.execute(foDb);
  const { rows: effects } = await sql<{ event_id: string; runs: number; applied_at: Date }>`
    select event_id, count(*)::int as runs, min(applied_at) as applied_at from effect group by event_id`.execute(hubDb);
  const applied = new Map(effects.map((e) => [e.event_id, e]));
  const latencies: number[] = [];
  let missing = 0;
  let last: Date | undefined;
  for (const w of written) {
    const e = applied.get(w.event_id);
    if (!e) {
      missing++;
      continue;
    }
    if (!last || e.applied_at > last) last = e.applied_at;
    if (window && w.created_at >= window.from && w.created_at <= window.to) latencies.push(e.applied_at.getTime() - w.created_at.getTime());
  }
  latencies.sort((a, b) => a - b);
  return { events: written.length, missing, duplicated: effects.filter((e) => e.runs !== 1).map((e) => e.event_id), latencies, lastAppliedAt: last };
}

export const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : NaN);
