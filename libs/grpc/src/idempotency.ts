import { createHash } from 'node:crypto';
import { sql, type Kysely, type Migrations, type Transaction } from '@lotse/db';
import { currentCaller } from './call-scope.js';
import { ValidationError } from './errors.js';

export const idempotencyMigrations: Migrations = {
  '0000_grpc_idempotency': {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('idempotency')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('response', 'bytea', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('idempotency_pk', ['method', 'request_id'])
        .execute();
    },
  },
  // A stored answer belongs to the deployment that caused it: the key gains the caller, so the
  // same request id from another agency is a new request that runs (and is authorised) afresh.
  // Rows from before have no known caller and keep '' — no certificate names an empty
  // deployment, so no one is answered from them; they age out with the rest.
  grpc_0001_idempotency_caller: {
    up: async (db: Kysely<any>) => {
      await db.schema.alterTable('idempotency').addColumn('caller', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('idempotency').alterColumn('caller', (c) => c.dropDefault()).execute();
      await db.schema.alterTable('idempotency').dropConstraint('idempotency_pk').execute();
      await db.schema.alterTable('idempotency').addPrimaryKeyConstraint('idempotency_pk', ['caller', 'method', 'request_id']).execute();
    },
  },
};

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

interface Key<Req> {
  method: string;
  requestId: string;
  request: Req;
  requestCodec: Codec<Req>;
}

/**
 * The calling deployment, from the certificate of the call being served. Outside a gRPC call
 * there is no caller to scope the key to; refusing is safer than sharing one key space.
 */
function callerOrThrow(): string {
  const caller = currentCaller();
  if (!caller) throw new Error('idempotency: once() and previousResponse() run only inside a gRPC call (no caller known)');
  return caller;
}

/**
 * Runs a mutating call at most once per (calling deployment, method, client request id). Call it inside the transaction of
 * the change: the stored response commits with the change, so a retry — after a timeout, a
 * crash, anything — returns the first result and writes nothing. The same id with a different
 * request is refused rather than silently answered with another call's result. Another
 * deployment's call with the same id is a different request: it runs, authorisation included,
 * and never sees the first caller's answer.
 */
export async function once<Req, Res>(
  trx: Transaction<any>,
  key: Key<Req>,
  responseCodec: Codec<Res>,
  run: () => Promise<Res>,
): Promise<Res> {
  const caller = callerOrThrow();
  const hash = requestHash(key.requestCodec, key.request);
  // Claim the id first: the insert of a concurrent retry of the same id waits on this
  // uncommitted key and then finds it taken (or takes it, if this call rolls back). One statement
  // instead of a lock and a lookup; the response is filled in once the call has run.
  const claimed = await trx
    .insertInto('idempotency')
    .values({ caller, method: key.method, request_id: key.requestId, request_hash: hash, response: EMPTY })
    .onConflict((oc) => oc.columns(['caller', 'method', 'request_id']).doNothing())
    .returning('request_id')
    .executeTakeFirst();
  if (!claimed) {
    const stored = await storedResponse(trx, caller, key, hash, responseCodec);
    // Taken but gone: removed between the two statements (a retention run); the client retries.
    if (stored === undefined) throw new Error(`idempotency: request id ${key.requestId} was claimed but its response is gone`);
    return stored;
  }
  // A failing call throws, and the claim rolls back with the rest of the transaction.
  const response = await run();
  await trx
    .updateTable('idempotency')
    .set({ response: Buffer.from(responseCodec.encode(response).finish()) })
    .where('caller', '=', caller)
    .where('method', '=', key.method)
    .where('request_id', '=', key.requestId)
    .execute();
  return response;
}

const EMPTY = Buffer.alloc(0);

/**
 * The stored first response of a request id, read outside a transaction. For calls that must
 * reach another agency before their own transaction (a retry then answers without calling again).
 */
export async function previousResponse<Req, Res>(
  db: Kysely<any>,
  key: Key<Req>,
  responseCodec: Codec<Res>,
): Promise<Res | undefined> {
  return storedResponse(db, callerOrThrow(), key, requestHash(key.requestCodec, key.request), responseCodec);
}

/** The caller's response stored for a request id; its same id with another request (hash) is refused. */
async function storedResponse<Res>(db: Kysely<any>, caller: string, key: { method: string; requestId: string }, hash: string, responseCodec: Codec<Res>): Promise<Res | undefined> {
  const existing = await db
    .selectFrom('idempotency')
    .select(['request_hash', 'response'])
    .where('caller', '=', caller)
    .where('method', '=', key.method)
    .where('request_id', '=', key.requestId)
    .executeTakeFirst();
  if (!existing) return undefined;
  if (existing.request_hash !== hash) {
    throw ValidationError.field('request_id', 'was already used for a different request');
  }
  return responseCodec.decode(existing.response as Uint8Array);
}

function requestHash<Req>(codec: Codec<Req>, request: Req): string {
  return createHash('sha256').update(codec.encode(request).finish()).digest('hex');
}

// The idempotency table is this library's: services that must erase or expire what a stored
// answer holds go through these ports, never through SQL of their own.

/**
 * Forgets every stored first answer whose response bytes contain `text` (an id or a legal basis
 * the answer names), of the given methods or of all; a retry then runs afresh. Returns how many.
 */
export async function forgetAnswersNaming(trx: Transaction<any>, text: string, methods?: readonly string[]): Promise<number> {
  let query = (trx as Kysely<any>).deleteFrom('idempotency').where(sql<boolean>`position(convert_to(${text}, 'UTF8') in response) > 0`);
  if (methods) query = query.where('method', 'in', [...methods]);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows ?? 0);
}

/** What becomes of one stored answer: kept as it is, forgotten, or kept with these bytes instead. */
export type StoredAnswerFate = 'keep' | 'forget' | Uint8Array;

/**
 * Goes through the stored first answers of the given methods, and keeps, forgets or rewrites each
 * as `fate` says (after an erasure an answer must not hold the erased data either).
 */
export async function reviseStoredAnswers(trx: Transaction<any>, methods: readonly string[], fate: (method: string, response: Uint8Array) => StoredAnswerFate): Promise<void> {
  const db = trx as Kysely<any>;
  const rows: { caller: string; method: string; request_id: string; response: Uint8Array }[] = await db
    .selectFrom('idempotency')
    .select(['caller', 'method', 'request_id', 'response'])
    .where('method', 'in', [...methods])
    .execute();
  for (const row of rows) {
    const next = fate(row.method, row.response);
    if (next === 'keep') continue;
    const one = { caller: row.caller, method: row.method, request_id: row.request_id };
    if (next === 'forget') {
      await db.deleteFrom('idempotency').where((eb) => eb.and(one)).execute();
    } else {
      await db.updateTable('idempotency').set({ response: Buffer.from(next) }).where((eb) => eb.and(one)).execute();
    }
  }
}
