import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import type { AgreementSource } from './agreements.js';
import type { OwnerClients } from './consented-fetch.js';
import type { ReferralInbox } from './inbox.js';
import type { ReceivedReferralRow } from './tables.js';

// What the shared handlers of a receiving agency (api.ts, consented-fetch.ts) are declared with.

export interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** One unary method of a service's generated definition (`jobCentre.JobCentreServiceService.acceptReferral`). */
export interface UnaryMethod<Req, Res> {
  path: string;
  responseStream: false;
  requestSerialize(value: Req): Buffer;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(value: Buffer): Res;
}

/**
 * A receiving deployment's context with what the shared handlers use of it: its inbox of the
 * referrals the hub routes here, the cooperation agreements and clients of the data owners.
 */
export interface ReceivingAgency<DB, Row extends ReceivedReferralRow> extends AgencyContext<DB> {
  inbox: ReferralInbox<DB, Row>;
  /** From the hub: a referral no agreement allows is refused before anything is written. */
  agreements: AgreementSource;
  owners: OwnerClients;
}

/**
 * The call's transaction as the agency's own. The wrapper types it by the runtime's database,
 * which a handler generic in its runtime cannot name.
 */
export const ownTransaction = <DB>(call: { trx: unknown }) => call.trx as Transaction<DB>;
