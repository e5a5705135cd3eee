import { JetStreamApiError, type ConsumerInfo, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { Logger } from '@lotse/logger';
import { sql, type Kysely } from 'kysely';
import { ensureAgencyStream } from './agency-stream.js';
import { streamName } from './naming.js';
import { noteOutboxWrite } from './outbox.js';
import { messagingDb } from './tables.js';

const streamNotFound = 10059;

/** A look at the stream: every event the relay had marked published before `at` has a sequence ≤ lastSeq. */
interface Sample {
  at: Date;
  lastSeq: number;
}

/** Samples kept while consumers lag; beyond it every other one is dropped (the safe point only gets more conservative). */
const maxSamples = 512;

/** An answer from the stream's (or durable's) leader, or from a broker that does not replicate it. */
const led = (info: StreamInfo | ConsumerInfo): boolean => !info.cluster || Boolean(info.cluster.leader);

export type ResetReason = 'stream missing' | 'stream recreated' | 'stream lost messages';

export interface StreamCheck {
  /** Why the outbox was rewound, when the broker had lost the stream or part of it. */
  reset?: { reason: ResetReason; republished: number; since: Date };
}

/** What the operator view shows of the producer's stream: its resets and how far consumers confirmed. */
export interface StreamReconcileStatus {
  resets: number;
  lastResetAt: Date | null;
  republished: number;
  confirmedBefore: Date | null;
}

/**
 * Keeps a producer's outbox in step with what its stream holds. The broker may forget (a wiped
 * store, a deleted stream, a fresh broker on the same port); the outbox does not. So:
 *
 * - It remembers, in the producer's own database (`outbox_stream`), the stream's creation time. A
 *   stream that is missing, or was created again, is a reset: the stream is made again and every
 *   event published since the last known-safe point is marked unpublished, so the relay sends it
 *   again (Nats-Msg-Id and the consumers' applied_event tables drop what had arrived before).
 * - The known-safe point is what the stream's durable consumers confirmed: each check samples the
 *   stream's last sequence; once every durable has acknowledged up to a sample (its ack floor, or
 *   nothing pending at all), the events published before that sample were applied by every
 *   recipient and need not go out again. A stream with no durable confirms nothing.
 *
 * - A stream that went back (its last sequence below one the broker had acknowledged, or below
 *   one a durable had delivered) cannot be refilled in place: each durable's position stays where
 *   it was, and it passes over every message the stream takes at sequences it delivered before
 *   (nats-server keeps no durable behind its stream). A netns CI run lost events that way, after a
 *   lagging replica led the stream for a moment. So such a stream is deleted and made again: every
 *   consumer makes its durable anew from the start, and what was not confirmed goes out again.
 *
 * Remembering the creation time in the database, not in memory, also catches a reset that
 * happened while the deployment was down. The check is two broker requests and no query while
 * nothing changes; a write only when the safe point moves or a reset is found.
 */
export class StreamReconciler {
  private readonly stream: string;
  private state: { created: string; safeBefore: Date; safeSeq: number } | undefined;
  private samples: Sample[] = [];
  /** The highest sequence the broker acknowledged for this stream (publish acks and looks). */
  private highestSeq = 0;
  /**
   * A publish was acknowledged at a sequence the stream had given before: it went back. Kept
   * until the stream is made again, since it may pass the old sequences before the next look.
   */
  private wentBack = false;

  constructor(
    private readonly db: Kysely<any>,
    private readonly jsm: () => Promise<JetStreamManager>,
    private readonly agencyId: string,
    private readonly logger: Logger,
    /** Replicas of a stream it has to make again (ensureAgencyStream). */
    private readonly replicas = 1,
  ) {
    this.stream = streamName(agencyId);
  }

  /** The relay reports each publish ack: a stream that later ends below it lost acknowledged writes. */
  noteAcked(seq: number, duplicate = false): void {
    // A duplicate's ack names the sequence the event got the first time; a new event's is always
    // higher than any before, in a stream that never went back (acks come in publish order).
    if (!duplicate && seq <= this.highestSeq) this.wentBack = true;
    if (seq > this.highestSeq) this.highestSeq = seq;
  }

  /** Whether a publish ack showed the stream went back: the relay looks at once, not at the next check. */
  suspectsLoss(): boolean {
    return this.wentBack;
  }

  /** Looks at the stream; makes it if missing; rewinds the outbox after a reset; moves the safe point. */
  async check(): Promise<StreamCheck> {
    const jsm = await this.jsm();
    const at = new Date();
    let info: StreamInfo | undefined;
    try {
      info = await jsm.streams.info(this.stream);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== streamNotFound) throw err;
    }
    const missing = info === undefined;
    info ??= await ensureAgencyStream(jsm, this.agencyId, this.replicas);
    const state = this.state ?? (await this.load());
    if (!state) {
      // First look ever (a new deployment, or one from before this table): nothing to compare with.
      await messagingDb(this.db).insertInto('outbox_stream').values({ stream: this.stream, created: info.created }).onConflict((oc) => oc.column('stream').doNothing()).execute();
      this.state = { created: info.created, safeBefore: new Date(0), safeSeq: 0 };
      return {};
    }
    if (missing || state.created !== info.created) return { reset: await this.rewind(missing ? 'stream missing' : 'stream recreated', info, state) };
    // Same stream, fewer messages than the broker had acknowledged: it came back from a store that
    // missed writes (a crash before they reached the disk, an older copy of the store, a replica
    // that led before it had caught up).
    if (this.wentBack) return { reset: await this.remake(jsm, state) };
    // While a replicated stream has no leader, a replica answers with its own state, which may lag
    // (seen in the netns test's partitions): no verdict on it, and no confirmation either.
    if (!led(info)) return {};
    if (info.state.last_seq < Math.max(this.highestSeq, state.safeSeq)) return { reset: await this.remake(jsm, state) };
    const consumers = await jsm.consumers.list(this.stream).next();
    // A durable without a leader is answered for by a replica: its floor may lag, or run ahead.
    if (!consumers.every(led)) return {};
    // A durable that delivered beyond the stream's end: the stream went back behind its position.
    // Looked at again after the consumers, so a message stored between the two looks is no sign.
    const furthest = Math.max(0, ...consumers.map((c) => c.delivered.stream_seq));
    if (furthest > info.state.last_seq) {
      const again = await jsm.streams.info(this.stream);
      if (led(again) && furthest > again.state.last_seq) return { reset: await this.remake(jsm, state) };
    }
    await this.advance(at, info, state, consumers);
    return {};
  }

  /** Marks events published since `since` (default: the known-safe point) unpublished; returns how many. */
  /** `db` may be a caller's transaction (an audited operator request), else the relay's pool. */
  async republishUnconfirmed(since?: Date, db: Kysely<any> = this.db): Promise<number> {
    const from = since ?? (this.state ?? (await this.load()))?.safeBefore ?? new Date(0);
    noteOutboxWrite();
    const result = await messagingDb(db).updateTable('outbox').set({ published_at: null }).where('published_at', '>=', from).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async status(): Promise<StreamReconcileStatus> {
    const row = await messagingDb(this.db).selectFrom('outbox_stream').selectAll().where('stream', '=', this.stream).executeTakeFirst();
    return {
      resets: row?.resets ?? 0,
      lastResetAt: row?.last_reset_at ?? null,
      republished: row?.republished ?? 0,
      confirmedBefore: row && row.safe_before.getTime() > 0 ? row.safe_before : null,
    };
  }

  private async load(): Promise<StreamReconciler['state']> {
    const row = await messagingDb(this.db).selectFrom('outbox_stream').select(['created', 'safe_before', 'safe_seq']).where('stream', '=', this.stream).executeTakeFirst();
    if (row) this.state = { created: row.created, safeBefore: row.safe_before, safeSeq: Number(row.safe_seq) };
    return this.state;
  }

  /**
   * The stream went back: deleted and made again (its durables with it), then rewound like a
   * stream that was missing. A failure on the way is retried at the next look: a deleted stream
   * is then missing, one not yet deleted still went back.
   */
  private async remake(jsm: JetStreamManager, state: NonNullable<StreamReconciler['state']>): Promise<StreamCheck['reset']> {
    this.wentBack = true;
    try {
      await jsm.streams.delete(this.stream);
    } catch (err) {
      if (!(err instanceof JetStreamApiError) || err.code !== streamNotFound) throw err;
    }
    const info = await ensureAgencyStream(jsm, this.agencyId, this.replicas);
    return this.rewind('stream lost messages', info, state);
  }

  private async rewind(reason: ResetReason, info: StreamInfo, state: NonNullable<StreamReconciler['state']>): Promise<StreamCheck['reset']> {
    const since = state.safeBefore;
    // One transaction: a crash in between must not forget the reset yet keep the new creation time.
    const republished = await this.db.transaction().execute(async (trx) => {
      noteOutboxWrite();
      const result = await messagingDb(trx).updateTable('outbox').set({ published_at: null }).where('published_at', '>=', since).executeTakeFirst();
      const n = Number(result.numUpdatedRows);
      await messagingDb(trx)
        .updateTable('outbox_stream')
        .set((eb) => ({ created: info.created, safe_seq: info.state.last_seq, resets: eb('resets', '+', 1), last_reset_at: sql<Date>`now()`, republished: n }))
        .where('stream', '=', this.stream)
        .execute();
      return n;
    });
    // Sequences above what the stream now holds mean nothing any more; the safe point's time
    // stays until consumers confirm anew (its sequence is what the stream holds now).
    this.samples = [];
    this.highestSeq = info.state.last_seq;
    this.wentBack = false;
    this.state = { created: info.created, safeBefore: since, safeSeq: info.state.last_seq };
    this.logger.warn(
      { stream: this.stream, reason, republish: republished, since: since.toISOString(), created: info.created },
      'broker had lost the stream or messages of it; re-publishing what its consumers had not confirmed',
    );
    return { reason, republished, since };
  }

  private async advance(at: Date, info: StreamInfo, state: NonNullable<StreamReconciler['state']>, consumers: ConsumerInfo[]): Promise<void> {
    if (info.state.last_seq > this.highestSeq) this.highestSeq = info.state.last_seq;
    this.samples.push({ at, lastSeq: info.state.last_seq });
    if (this.samples.length > maxSamples) this.samples = this.samples.filter((_, i) => i % 2 === 1);
    if (consumers.length === 0) return;
    // Read after the stream: a durable with nothing pending has applied everything up to lastSeq.
    const confirmed = Math.min(
      ...consumers.map((c) => (c.num_pending === 0 && c.num_ack_pending === 0 ? info.state.last_seq : c.ack_floor.stream_seq)),
    );
    let safe: Sample | undefined;
    while (this.samples.length > 0 && this.samples[0]!.lastSeq <= confirmed) safe = this.samples.shift();
    if (!safe || safe.lastSeq <= state.safeSeq) return;
    await messagingDb(this.db).updateTable('outbox_stream').set({ safe_before: safe.at, safe_seq: safe.lastSeq }).where('stream', '=', this.stream).execute();
    this.state = { ...state, safeBefore: safe.at, safeSeq: safe.lastSeq };
  }
}
