import { operator } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import type { AsyncHandlers } from '@lotse/grpc';
import type { Logger } from '@lotse/logger';
import type { ConsumerHandle, StreamReconcileStatus } from '@lotse/messaging';
import { declaredService } from '../declared-handlers.js';
import { discardParkedMessage } from './handlers/discard-parked-message.js';
import { getOutboxStatus } from './handlers/get-outbox-status.js';
import { listParkedMessages } from './handlers/list-parked-messages.js';
import { reconcile } from './handlers/reconcile.js';
import { replayParkedMessage } from './handlers/replay-parked-message.js';
import type { OperatorRuntime } from './parked-records.js';

export { OPERATOR_AGENCY_TYPE } from './parked-records.js';

/** Relative to proto/, for server reflection. */
export const OPERATOR_PROTO_FILE = 'lotse/operator/v1/operator.proto';

export interface OperatorApiDeps {
  /** This deployment; a declared handler's runtime names it. */
  agencyId: string;
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

/**
 * The operator API every deployment serves (registered by startAgency): its dead letters —
 * list, replay, discard — and its outbox, one declared handler per RPC (operator/handlers/).
 * Only callers whose certificate says agency type "operator" get an answer. Replays and discards
 * are written to operator_action in the same transaction as their effect, and are idempotent on
 * request_id. Their stored answers are keyed on the method's full path (call.method), not on the
 * short name `idempotent: true` would use: answers stored before stay found, so the handlers
 * call `once` themselves. Replay and reconcile tell the relay after they committed.
 */
export function operatorApi(deps: OperatorApiDeps): AsyncHandlers<typeof operator.OperatorServiceService> {
  const rt: OperatorRuntime = { ...deps, transact: (fn) => deps.db.transaction().execute(fn) };
  return declaredService(rt, operator.OperatorServiceService, { listParkedMessages, replayParkedMessage, discardParkedMessage, getOutboxStatus, reconcile });
}
