import { receipts } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { receivedEventIds } from '@lotse/messaging';
import { declaredService, handlersFor, type HandlerRuntime } from '../declared-handlers.js';

/** Relative to proto/, for server reflection. */
export const RECEIPTS_PROTO_FILE = 'lotse/receipts/v1/receipts.proto';

/** One follow-up batch is at most 100; this leaves room and bounds the query. */
export const MAX_EVENT_IDS = 500;

// Event ids are UUIDv7 (enqueueEvent); tests and older producers use other UUIDs, so any UUID-like token.
const eventIdPattern = /^[0-9A-Za-z][0-9A-Za-z-]{0,63}$/;

/** The receipt API needs only the deployment's id and database. */
const { unary } = handlersFor<HandlerRuntime<any>>();

function validateConfirmReceipts(request: receipts.ConfirmReceiptsRequest): receipts.ConfirmReceiptsRequest {
  const v = new Violations();
  if (request.eventIds.length > MAX_EVENT_IDS) v.add('event_ids', `must name at most ${MAX_EVENT_IDS} event ids`);
  const bad = request.eventIds.findIndex((id) => !eventIdPattern.test(id));
  if (bad >= 0) v.add('event_ids', `must be event ids (letters, digits and -, at most 64); entry ${bad} is not`);
  v.throwIfAny();
  return request;
}

/**
 * Which of the caller's events this deployment took in. The caller is its certificate's
 * deployment id, never a field of the request; software of the network only (no relation: the
 * answer covers only events under the caller's own subjects).
 */
const confirmReceipts = unary(receipts.ReceiptServiceService.confirmReceipts, {
  access: 'network',
  validate: (req) => validateConfirmReceipts(req),
  async handle(input, { rt, ctx }) {
    return { receivedEventIds: await receivedEventIds(rt.db, ctx.caller.agencyId, input.eventIds) };
  },
});

/** The receipt API every deployment serves (registered by startAgency), checked against the matrix at start. */
export function receiptApi(rt: HandlerRuntime<any>) {
  return declaredService(rt, receipts.ReceiptServiceService, { confirmReceipts });
}
