import type { Declared } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import { referralHandlers, type ReferralHandlerOptions } from './api.js';
import { consentedFetch, receivedReferralReader, type ConsentedFetchOptions } from './consented-fetch.js';
import type { ReceivingAgency, UnaryMethod } from './receiving-agency.js';
import type { NewcomerRecordRow, ReceivedReferralRow } from './tables.js';
import type { ReferralCall } from './validate.js';

/**
 * The shared handlers with the deployment's runtime fixed, so that a service's options are typed
 * without hints: `export const shared = receivingHandlersFor<JobCentre, JobCentreDb, IntakeRow>();`.
 */
export function receivingHandlersFor<R extends ReceivingAgency<DB, Row>, DB, Row extends ReceivedReferralRow>() {
  return {
    referralHandlers: <In, Out, CapReq extends { requestId: string }, CapRes>(options: ReferralHandlerOptions<R, DB, Row, In, Out, CapReq, CapRes>) =>
      referralHandlers<R, DB, Row, In, Out, CapReq, CapRes>(options),
    consentedFetch: <Res>(method: UnaryMethod<ReferralCall, Res>, options: ConsentedFetchOptions<R, Row, Res>): Declared<R> => consentedFetch<R, DB, Row, Res>(method, options),
    receivedReferralReader: <Res>(
      method: UnaryMethod<{ referralId: string }, Res>,
      respond: (trx: Transaction<DB>, referral: Row, record: NewcomerRecordRow | undefined) => Promise<Res> | Res,
    ): Declared<R> => receivedReferralReader<R, DB, Row, Res>(method, respond),
  };
}
