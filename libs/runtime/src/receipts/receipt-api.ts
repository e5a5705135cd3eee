import { receipts } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import { Violations, type AsyncHandlers } from '@lotse/grpc';
import { receivedEventIds } from '@lotse/messaging';

/** Relative to proto/, for server reflection. */
export const RECEIPTS_PROTO_FILE = 'lotse/receipts/v1/receipts.proto';

/** One follow-up batch is at most 100; this leaves room and bounds the query. */
export const MAX_EVENT_IDS = 500;

// Event ids are UUIDv7 (enqueueEvent); tests and older producers use other UUIDs, so any UUID-like token.
const eventIdPattern = /^[0-9A-Za-z][0-9A-Za-z-]{0,63}$/;

/**
 * The receipt API every deployment serves (registered by startAgency): which of the caller's events
 * it took in. The caller is its certificate's deployment id, never a field of the request.
 */
export function receiptApi(deps: { db: Kysely<any> }): AsyncHandlers<typeof receipts.ReceiptServiceService> {
  return {
    async confirmReceipts(request, call) {
      const v = new Violations();
      if (request.eventIds.length > MAX_EVENT_IDS) v.add('event_ids', `must name at most ${MAX_EVENT_IDS} event ids`);
      const bad = request.eventIds.findIndex((id) => !eventIdPattern.test(id));
      if (bad >= 0) v.add('event_ids', `must be event ids (letters, digits and -, at most 64); entry ${bad} is not`);
      v.throwIfAny();
      return { receivedEventIds: await receivedEventIds(deps.db, call.caller.agencyId, request.eventIds) };
    },
  };
}
