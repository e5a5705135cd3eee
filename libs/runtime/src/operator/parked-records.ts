import { operator } from '@lotse/contracts';
import type { Kysely, Transaction } from '@lotse/db';
import { FailedPreconditionError, NotFoundError, PermissionDeniedError, setCaseRef, Violations, type CallContext } from '@lotse/grpc';
import { decodeEnvelope, getParked, type ParkedRecord } from '@lotse/messaging';
import { handlersFor, type HandlerRuntime } from '../declared-handlers.js';
import type { OperatorApiDeps } from './operator-api.js';
import type { OperatorActionKind, OperatorTables } from './tables.js';

// What several operator handlers share: who may call, the parked message locked for a change,
// the record of what an operator did, and a parked row as the console sees it.

/** The agency type (certificate OU) the operator API answers; the console's certificate has it. */
export const OPERATOR_AGENCY_TYPE = 'operator';

/** The operator API's runtime: the deployment's parts it was given, with a plain transaction. */
export type OperatorRuntime = HandlerRuntime<any> & OperatorApiDeps;

/** The operator handlers are declared with these (see declared-handlers.ts). */
export const { unary } = handlersFor<OperatorRuntime>();

/**
 * Only callers whose certificate says agency type "operator". The edge's matrix row says the
 * same; the handlers check again, first, before the request is looked at (so they declare no
 * `validate`, which would run before them).
 */
export function authorise(call: CallContext): void {
  if (call.caller.agencyType !== OPERATOR_AGENCY_TYPE) {
    throw new PermissionDeniedError(`only operators may call ${call.method}; ${call.caller.agencyId} is of agency type "${call.caller.agencyType}"`);
  }
}

/** request_id, parked_id and operator_name, as replay and discard both take them; the caller throws. */
export function parkedMessageRequest(v: Violations, request: { requestId: string; parkedId: string; operatorName: string }) {
  return {
    requestId: v.requestId(request.requestId),
    id: parkedId(v, request.parkedId),
    operatorName: v.text('operator_name', request.operatorName, { required: false, max: 200 }),
  };
}

function parkedId(v: Violations, raw: string): number {
  const trimmed = v.pattern('parked_id', raw, /^[1-9][0-9]{0,9}$/, 'the id of a parked message (a positive whole number)');
  const id = Number(trimmed);
  if (trimmed && /^[1-9][0-9]{0,9}$/.test(trimmed) && id > 2_147_483_647) v.add('parked_id', 'is out of range');
  return id;
}

/** What an operator did, in the transaction of its effect. */
export async function record(
  trx: Kysely<any>,
  entry: { action: OperatorActionKind; parkedId: number | null; call: CallContext; operatorName: string; reason: string; requestId: string },
): Promise<void> {
  await (trx as unknown as Kysely<OperatorTables>)
    .insertInto('operator_action')
    .values({
      action: entry.action,
      parked_id: entry.parkedId,
      operator_agency_id: entry.call.caller.agencyId,
      operator_name: entry.operatorName,
      operator_sub: entry.call.person?.sub ?? null,
      operator_roles: entry.call.person ? [...entry.call.person.roles] : null,
      reason: entry.reason,
      request_id: entry.requestId,
    })
    .execute();
}

/** Locks the parked message for this transaction; it must exist and be open. */
export async function openParked(trx: Transaction<any>, id: number, rawId: string): Promise<ParkedRecord> {
  const row = await getParked(trx, id, { forUpdate: true });
  if (!row) throw new NotFoundError('parked_id', rawId, 'parked message');
  setCaseRef(describe(row).caseRef);
  if (row.replayedAt) throw new FailedPreconditionError(`parked message ${id} was already replayed`);
  if (row.discardedAt) throw new FailedPreconditionError(`parked message ${id} was already discarded`);
  return row;
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

export function toProto(row: ParkedRecord): operator.ParkedMessage {
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
