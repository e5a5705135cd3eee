import { operator } from '@lotse/contracts';
import type { Kysely, Transaction } from '@lotse/db';
import {
  FailedPreconditionError,
  NotFoundError,
  once,
  PermissionDeniedError,
  setCaseRef,
  Violations,
  type AsyncHandlers,
  type CallContext,
} from '@lotse/grpc';
import type { Logger } from '@lotse/logger';
import {
  decodeEnvelope,
  discardParked,
  getParked,
  listParkedRecords,
  outboxStatus,
  recordReplayFailure,
  type ConsumerHandle,
  type ParkedRecord,
  type StreamReconcileStatus,
} from '@lotse/messaging';
import { trace, type Link } from '@opentelemetry/api';
import type { OperatorActionKind, OperatorTables } from './tables.js';

/** Relative to proto/, for server reflection. */
export const OPERATOR_PROTO_FILE = 'lotse/operator/v1/operator.proto';

/** The agency type (certificate OU) the operator API answers; the console's certificate has it. */
export const OPERATOR_AGENCY_TYPE = 'operator';

/** More would not fit a screen; the newest are what an operator looks at. */
const LIST_LIMIT = 500;

export interface OperatorApiDeps {
  db: Kysely<any>;
  /** This deployment's consumers; a replay goes to the one that parked the message. */
  consumers: () => readonly ConsumerHandle[];
  logger: Logger;
  /** After a replay or reconciliation committed: events wait in the outbox. */
  outboxChanged: () => void;
  /** The deployment's outbox relay: what it did when the broker lost the stream, and reconciling. */
  relay: { streamStatus(): Promise<StreamReconcileStatus>; reconcile(since?: Date, trx?: Kysely<any>): Promise<number> };
  /** What the deployment sent and waits to hear back about (its own reconciliation), if anything. */
  awaiting?: () => Promise<operator.AwaitedAnswer[]>;
}

type Handlers = AsyncHandlers<typeof operator.OperatorServiceService>;

/**
 * The operator API every deployment serves (registered by startAgency): its dead letters —
 * list, replay, discard — and its outbox. Only callers whose certificate says agency type
 * "operator" get an answer. Replays and discards are written to operator_action in the same
 * transaction as their effect, and are idempotent on request_id.
 */
export function operatorApi(deps: OperatorApiDeps): Handlers {
  const { db, logger } = deps;
  const audit = (trx: Kysely<any>) => trx as unknown as Kysely<OperatorTables>;

  async function record(
    trx: Kysely<any>,
    entry: { action: OperatorActionKind; parkedId: number | null; call: CallContext; operatorName: string; reason: string; requestId: string },
  ): Promise<void> {
    await audit(trx)
      .insertInto('operator_action')
      .values({
        action: entry.action,
        parked_id: entry.parkedId,
        operator_agency_id: entry.call.caller.agencyId,
        operator_name: entry.operatorName,
        reason: entry.reason,
        request_id: entry.requestId,
      })
      .execute();
  }

  /** Locks the parked message for this transaction; it must exist and be open. */
  async function openParked(trx: Transaction<any>, id: number, rawId: string): Promise<ParkedRecord> {
    const row = await getParked(trx, id, { forUpdate: true });
    if (!row) throw new NotFoundError('parked_id', rawId, 'parked message');
    setCaseRef(describe(row).caseRef);
    if (row.replayedAt) throw new FailedPreconditionError(`parked message ${id} was already replayed`);
    if (row.discardedAt) throw new FailedPreconditionError(`parked message ${id} was already discarded`);
    return row;
  }

  return {
    async listParkedMessages(request, call) {
      authorise(call);
      const rows = await listParkedRecords(db, { includeResolved: request.includeResolved, limit: LIST_LIMIT });
      return { messages: rows.map(toProto) };
    },

    async replayParkedMessage(request, call) {
      authorise(call);
      const v = new Violations();
      const requestId = v.requestId(request.requestId);
      const id = parkedId(v, request.parkedId);
      const operatorName = v.text('operator_name', request.operatorName, { required: false, max: 200 });
      v.throwIfAny();
      // The replay span continues the message's own trace; this link leads back to the operator's call.
      const caller = trace.getActiveSpan()?.spanContext();
      const links: Link[] = caller ? [{ context: caller }] : [];
      let handlerFailure: { error: unknown } | undefined;
      try {
        const response = await db.transaction().execute((trx) =>
          once(
            trx,
            { method: call.method, requestId, request, requestCodec: operator.ReplayParkedMessageRequest },
            operator.ReplayParkedMessageResponse,
            async () => {
              const row = await openParked(trx, id, request.parkedId);
              const consumer = deps.consumers().find((c) => c.accepts(row));
              if (!consumer) {
                throw new FailedPreconditionError(`no consumer of this deployment reads ${row.subject} as "${row.consumer}"; discard the message instead`);
              }
              try {
                await consumer.replayParked(id, { trx, links });
              } catch (error) {
                handlerFailure = { error };
                throw error;
              }
              await record(trx, { action: 'replay', parkedId: id, call, operatorName, reason: '', requestId });
              return { message: toProto((await getParked(trx, id))!) };
            },
          ),
        );
        deps.outboxChanged();
        return response;
      } catch (error) {
        if (!handlerFailure) throw error;
        // Rolled back: no effect, no replay mark. Keep the new error and the attempt on record.
        const message = handlerFailure.error instanceof Error ? handlerFailure.error.message : String(handlerFailure.error);
        try {
          await db.transaction().execute(async (trx) => {
            await recordReplayFailure(trx, id, message);
            await record(trx, { action: 'replay_failed', parkedId: id, call, operatorName, reason: '', requestId });
          });
        } catch (recordError) {
          logger.error({ err: recordError, parked_id: id }, 'recording a failed replay failed');
        }
        // The handler's message stays in the parked row (operators list it); the status says what happened.
        throw new FailedPreconditionError(`replaying parked message ${id} failed again; it stays parked with the new error`);
      }
    },

    async discardParkedMessage(request, call) {
      authorise(call);
      const v = new Violations();
      const requestId = v.requestId(request.requestId);
      const id = parkedId(v, request.parkedId);
      const operatorName = v.text('operator_name', request.operatorName, { required: false, max: 200 });
      const reason = v.text('reason', request.reason, { required: false, max: 1000 });
      v.throwIfAny();
      return db.transaction().execute((trx) =>
        once(
          trx,
          { method: call.method, requestId, request, requestCodec: operator.DiscardParkedMessageRequest },
          operator.DiscardParkedMessageResponse,
          async () => {
            await openParked(trx, id, request.parkedId);
            await discardParked(trx, id);
            await record(trx, { action: 'discard', parkedId: id, call, operatorName, reason, requestId });
            logger.info({ parked_id: id, operator_agency_id: call.caller.agencyId }, 'parked message discarded');
            return { message: toProto((await getParked(trx, id))!) };
          },
        ),
      );
    },

    async getOutboxStatus(_request, call) {
      authorise(call);
      const row = await outboxStatus(db);
      const stream = await deps.relay.streamStatus();
      return {
        backlog: row.backlog,
        oldestUnpublishedAt: row.oldest ?? undefined,
        parked: row.parked,
        streamResets: stream.resets,
        lastStreamResetAt: stream.lastResetAt ?? undefined,
        republishedAtLastReset: stream.republished,
        confirmedBefore: stream.confirmedBefore ?? undefined,
        durablesRecreated: deps.consumers().reduce((sum, c) => sum + c.recreatedDurables(), 0),
        awaiting: (await deps.awaiting?.()) ?? [],
      };
    },

    async reconcile(request, call) {
      authorise(call);
      const v = new Violations();
      const requestId = v.requestId(request.requestId);
      const operatorName = v.text('operator_name', request.operatorName, { required: false, max: 200 });
      if (request.since && request.since.getTime() > Date.now()) v.add('since', 'must not be in the future');
      v.throwIfAny();
      // Kept under request_id like replays: a retried call gets the first answer and sends nothing
      // again. The rows to re-send are marked and audited in one transaction.
      const response = await db.transaction().execute((trx) =>
        once(trx, { method: call.method, requestId, request, requestCodec: operator.ReconcileRequest }, operator.ReconcileResponse, async () => {
          const republished = await deps.relay.reconcile(request.since, trx);
          const reason = `${request.since ? `since ${request.since.toISOString()}` : 'what the consumers had not confirmed'}; ${republished} events re-published`;
          await record(trx, { action: 'reconcile', parkedId: null, call, operatorName, reason, requestId });
          return { republished };
        }),
      );
      deps.outboxChanged();
      logger.info(
        { request_id: requestId, operator_agency_id: call.caller.agencyId, operator_name: operatorName, since: request.since?.toISOString(), republish: response.republished },
        'reconciliation asked by an operator',
      );
      return response;
    },
  };
}

function authorise(call: CallContext): void {
  if (call.caller.agencyType !== OPERATOR_AGENCY_TYPE) {
    throw new PermissionDeniedError(`only operators may call ${call.method}; ${call.caller.agencyId} is of agency type "${call.caller.agencyType}"`);
  }
}

function parkedId(v: Violations, raw: string): number {
  const trimmed = v.pattern('parked_id', raw, /^[1-9][0-9]{0,9}$/, 'the id of a parked message (a positive whole number)');
  const id = Number(trimmed);
  if (trimmed && /^[1-9][0-9]{0,9}$/.test(trimmed) && id > 2_147_483_647) v.add('parked_id', 'is out of range');
  return id;
}

/** What the envelope says, if the bytes are one; a malformed message has only what the row kept. */
function describe(row: ParkedRecord): { eventId: string; eventType: string; caseRef: string } {
  try {
    const envelope = decodeEnvelope(row.data);
    return { eventId: envelope.eventId, eventType: envelope.eventType, caseRef: envelope.caseRef };
  } catch {
    return { eventId: row.eventId ?? '', eventType: '', caseRef: '' };
  }
}

function toProto(row: ParkedRecord): operator.ParkedMessage {
  return {
    parkedId: String(row.id),
    consumer: row.consumer,
    stream: row.stream,
    subject: row.subject,
    ...describe(row),
    data: Buffer.from(row.data),
    error: row.error,
    deliveries: row.deliveries,
    parkedAt: row.parkedAt,
    replayedAt: row.replayedAt ?? undefined,
    discardedAt: row.discardedAt ?? undefined,
  };
}
