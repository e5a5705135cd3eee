import { randomUUID } from 'node:crypto';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { envelope, events, operator } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import type { ConsoleDb } from '../db/schema.js';
import type { Actor } from './actor.js';
import { grpcStatusName, type NetworkWatcher } from '../watch/network-watcher.js';

export interface DeadLetter {
  deployment: string;
  parkedId: string;
  consumer: string;
  stream: string;
  subject: string;
  eventId: string;
  eventType: string;
  caseRef: string;
  error: string;
  deliveries: number;
  parkedAt: string | null;
  replayedAt: string | null;
  discardedAt: string | null;
  state: 'open' | 'replayed' | 'discarded';
  size: number;
}

export interface DecodedMessage {
  /** The envelope as sent, or null when the bytes are not an envelope. */
  envelope: Record<string, unknown> | null;
  /** The payload decoded by event type, or null when the type is unknown to this console. */
  payload: unknown;
  problem: string | null;
  /** The first bytes, for a message that could not be decoded. */
  hex: string;
}

export class DeadLetterError extends Error {
  constructor(
    readonly status: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}

const iso = (d: Date | undefined) => (d ? d.toISOString() : null);

function toDeadLetter(deployment: string, m: operator.ParkedMessage): DeadLetter {
  return {
    deployment,
    parkedId: m.parkedId,
    consumer: m.consumer,
    stream: m.stream,
    subject: m.subject,
    eventId: m.eventId,
    eventType: m.eventType,
    caseRef: m.caseRef,
    error: m.error,
    deliveries: m.deliveries,
    parkedAt: iso(m.parkedAt),
    replayedAt: iso(m.replayedAt),
    discardedAt: iso(m.discardedAt),
    state: m.replayedAt ? 'replayed' : m.discardedAt ? 'discarded' : 'open',
    size: m.data.length,
  };
}

/** The wire bytes of a parked message, decoded as far as they go: envelope, then payload by type. */
export function decodeParked(data: Uint8Array): DecodedMessage {
  const hex = Buffer.from(data.subarray(0, 256)).toString('hex').replace(/(..)/g, '$1 ').trim();
  let env: envelope.Envelope;
  try {
    env = envelope.Envelope.decode(data);
  } catch (error) {
    return { envelope: null, payload: null, problem: `not a Lotse envelope: ${(error as Error).message}`, hex };
  }
  if (!env.eventId || !env.eventType) return { envelope: null, payload: null, problem: 'not a Lotse envelope: no event id or type', hex };
  const raw = env.payload;
  const head: Record<string, unknown> = { ...(envelope.Envelope.toJSON({ ...env, payload: Buffer.alloc(0) }) as Record<string, unknown>), payloadBytes: raw.length };
  delete head.payload;
  const codec = (events as unknown as Record<string, { decode(b: Uint8Array): unknown; toJSON(m: unknown): unknown } | undefined>)[env.eventType];
  if (!codec || typeof codec.decode !== 'function') return { envelope: head, payload: null, problem: `event type ${env.eventType} is unknown to this console`, hex };
  try {
    return { envelope: head, payload: codec.toJSON(codec.decode(raw)), problem: null, hex };
  } catch (error) {
    return { envelope: head, payload: null, problem: `payload is not a valid ${env.eventType}: ${(error as Error).message}`, hex };
  }
}

/** The person's own token on their action, so the deployment verifies and audits them itself; none with the operator token. */
function asPerson(actor: Actor): Metadata {
  const metadata = new Metadata();
  if (actor.accessToken) metadata.set('authorization', `Bearer ${actor.accessToken}`);
  return metadata;
}

function describe(error: unknown): DeadLetterError {
  const e = error as ServiceError;
  if (typeof e?.code === 'number') return new DeadLetterError(grpcStatusName(e.code), e.details || e.message);
  return new DeadLetterError('ERROR', (error as Error).message);
}

/**
 * Dead letters across the network: each deployment keeps what its consumers parked and answers
 * for it on its OperatorService (which also audits replays and discards). The console records
 * each action it asked for, with its outcome, in its own log as well.
 */
export class DeadLetters {
  constructor(
    private readonly watcher: NetworkWatcher,
    private readonly db: Kysely<ConsoleDb>,
    private readonly deploymentIds: string[],
  ) {}

  async list(includeResolved: boolean): Promise<{ messages: DeadLetter[]; unavailable: { deployment: string; status: string; message: string }[] }> {
    const results = await Promise.all(
      this.deploymentIds.map(async (id) => {
        try {
          const { messages } = await this.watcher.operator(id).listParkedMessages({ includeResolved }, { deadlineMs: 5000, metadata: this.watcher.quiet.metadata() });
          return { id, messages: messages.map((m) => toDeadLetter(id, m)) };
        } catch (error) {
          const e = describe(error);
          return { id, problem: { deployment: id, status: e.status, message: e.message } };
        }
      }),
    );
    const messages = results.flatMap((r) => r.messages ?? []).sort((a, b) => (b.parkedAt ?? '').localeCompare(a.parkedAt ?? ''));
    return { messages, unavailable: results.flatMap((r) => (r.problem ? [r.problem] : [])) };
  }

  async inspect(deployment: string, parkedId: string): Promise<DeadLetter & { decoded: DecodedMessage; actions: unknown[] }> {
    this.known(deployment);
    let found: operator.ParkedMessage | undefined;
    try {
      const { messages } = await this.watcher.operator(deployment).listParkedMessages({ includeResolved: true }, { deadlineMs: 5000, metadata: this.watcher.quiet.metadata() });
      found = messages.find((m) => m.parkedId === parkedId);
    } catch (error) {
      throw describe(error);
    }
    if (!found) throw new DeadLetterError('NOT_FOUND', `no parked message ${parkedId} at ${deployment}`);
    const actions = await this.db
      .selectFrom('operator_action')
      .selectAll()
      .where('deployment_id', '=', deployment)
      .where('parked_id', '=', parkedId)
      .orderBy('id')
      .execute();
    return { ...toDeadLetter(deployment, found), decoded: decodeParked(found.data), actions };
  }

  async replay(deployment: string, parkedId: string, actor: Actor): Promise<DeadLetter> {
    this.known(deployment);
    const who = this.named(actor);
    try {
      const { message } = await this.watcher.operator(deployment).replayParkedMessage({ requestId: randomUUID(), parkedId, operatorName: who.name }, { deadlineMs: 15_000, metadata: asPerson(who) });
      await this.audit(deployment, parkedId, 'replay', who, null, 'ok', null);
      return toDeadLetter(deployment, message!);
    } catch (error) {
      const e = describe(error);
      await this.audit(deployment, parkedId, 'replay', who, null, e.status, e.message);
      throw e;
    }
  }

  async discard(deployment: string, parkedId: string, actor: Actor, reason: string): Promise<DeadLetter> {
    this.known(deployment);
    const who = this.named(actor);
    if (!reason.trim()) throw new DeadLetterError('INVALID_ARGUMENT', 'a reason is required to discard a message');
    try {
      const { message } = await this.watcher
        .operator(deployment)
        .discardParkedMessage({ requestId: randomUUID(), parkedId, operatorName: who.name, reason: reason.trim().slice(0, 500) }, { deadlineMs: 15_000, metadata: asPerson(who) });
      await this.audit(deployment, parkedId, 'discard', who, reason, 'ok', null);
      return toDeadLetter(deployment, message!);
    } catch (error) {
      const e = describe(error);
      await this.audit(deployment, parkedId, 'discard', who, reason, e.status, e.message);
      throw e;
    }
  }

  async recentActions(limit = 50) {
    return this.db.selectFrom('operator_action').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  private known(deployment: string): void {
    if (!this.deploymentIds.includes(deployment)) throw new DeadLetterError('NOT_FOUND', `unknown deployment ${deployment}`);
  }

  private named(actor: Actor): Actor {
    const trimmed = actor.name.trim();
    if (!trimmed) throw new DeadLetterError('INVALID_ARGUMENT', 'the operator name is required (it goes into the audit trail)');
    return { ...actor, name: trimmed.slice(0, 100) };
  }

  private async audit(deployment: string, parkedId: string, action: string, actor: Actor, reason: string | null, outcome: string, detail: string | null) {
    await this.db
      .insertInto('operator_action')
      .values({
        deployment_id: deployment,
        parked_id: parkedId,
        action,
        operator_name: actor.name,
        operator_sub: actor.sub,
        operator_roles: actor.sub ? actor.roles : null,
        reason,
        outcome,
        detail: detail?.slice(0, 2000) ?? null,
      })
      .execute();
  }
}
