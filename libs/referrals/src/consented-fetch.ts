import { common, events, foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, forwardCaseworker } from '@lotse/audit';
import { createClient, FailedPreconditionError, once, previousResponse, throwDownstream, UnavailableError, Violations, type PromiseClient } from '@lotse/grpc';
import { unary, type AgencyContext, type Declared } from '@lotse/runtime';
import type { Kysely, Transaction } from 'kysely';
import { readReceivedData } from './received-data.js';
import { ownTransaction, type Codec, type ReceivingAgency, type UnaryMethod } from './receiving-agency.js';
import { workflowDb, type NewcomerRecordRow, type ReceivedReferralRow } from './tables.js';
import { validatePlainReferralCall, type ReferralCall } from './validate.js';

const { DataCategory } = common;

/**
 * Clients of the agencies that own newcomers' data (the foreign offices), by agency id, made on
 * first use. The owner answers UNAVAILABLE while an acceptance is still on its way to it, and
 * RESOURCE_EXHAUSTED when it is saturated: both are tried again by the client.
 */
export function ownerClients(rt: Pick<AgencyContext<unknown>, 'identity'>, peers: ReadonlyMap<string, string>) {
  const clients = new Map<string, PromiseClient<foreignOffice.ForeignOfficeServiceClient>>();
  return {
    of(ownerId: string): PromiseClient<foreignOffice.ForeignOfficeServiceClient> {
      let client = clients.get(ownerId);
      if (!client) {
        const address = peers.get(ownerId);
        if (!address) throw new UnavailableError(`no address is configured for agency ${ownerId} (PEERS)`);
        client = createClient(foreignOffice.ForeignOfficeServiceClient, address, rt.identity, { serverAgencyId: ownerId, retry: {} });
        clients.set(ownerId, client);
      }
      return client;
    },
    close(): void {
      for (const client of clients.values()) client.close();
    },
  };
}

export type OwnerClients = ReturnType<typeof ownerClients>;

export interface ConsentedFetchOptions<R, Row extends ReceivedReferralRow, Res> {
  /** The service's status of an accepted referral, and how to name a status in an error. */
  accepted: number;
  statusName(status: number): string;
  /** The agency holding the newcomer's data. */
  ownerOf(referral: Row, rt: R): string;
  /**
   * Refuses the fetch (e.g. the consent was withdrawn here): checked before the owner is asked and
   * again, under the referral's lock, before anything is stored — an erasure under a withdrawn
   * consent (which locks the same row) either ran before, or waits until this is stored and erases it.
   */
  refuse?(referral: Row): void;
  codecs: [Codec<ReferralCall>, Codec<Res>];
  response(record: NewcomerRecordRow): Res;
}

/**
 * The declared FetchNewcomerData handler of a recipient: the owner discloses what the consent
 * grants for the referral's purpose (it checks the consent and logs the disclosure), the copy is
 * kept with its legal basis, the hub hears that data was received, and the fetch is on record here.
 * Not in one declared transaction: the owner is asked first, outside any.
 */
export function consentedFetch<R extends ReceivingAgency<DB, Row>, DB, Row extends ReceivedReferralRow, Res>(
  method: UnaryMethod<ReferralCall, Res>,
  options: ConsentedFetchOptions<R, Row, Res>,
): Declared<R> {
  const { codecs } = options;
  return unary(method, {
    access: 'self',
    validate: validatePlainReferralCall,
    async handle({ requestId, referralId }, { rt, ctx, request }) {
      const actor = actorOfCall(ctx);
      const key = { method: 'FetchNewcomerData', requestId, request, requestCodec: codecs[0] };
      // A retry must not disclose again: answer it from the stored first result.
      const previous = await previousResponse(rt.db as Kysely<any>, key, codecs[1]);
      if (previous) return previous;
      const referral = await rt.inbox.get(rt.db, referralId);
      options.refuse?.(referral);
      if (referral.status !== options.accepted) {
        throw new FailedPreconditionError(`referral ${referralId} is ${options.statusName(referral.status)}; accept it before fetching the newcomer's data`);
      }
      const ownerId = options.ownerOf(referral, rt);
      // The gRPC call runs outside any transaction: never hold the database while waiting on another agency.
      let disclosed: foreignOffice.DiscloseNewcomerDataResponse;
      try {
        disclosed = await rt.owners
          .of(ownerId)
          .discloseNewcomerData({ caseRef: referral.case_ref, purpose: referral.purpose, categories: [], referralId: referral.referral_id }, { metadata: forwardCaseworker(ctx) });
      } catch (error) {
        throwDownstream(error, ownerId);
      }
      return rt.transact((trx) =>
        once(trx, key, codecs[1], async () => {
          if (options.refuse) options.refuse(await rt.inbox.lock(trx, referralId));
          const values = { ...receivedCopy(disclosed), case_ref: referral.case_ref, owner_agency_id: ownerId, fetched_at: rt.now() };
          const record = await workflowDb(trx)
            .insertInto('newcomer_record')
            .values({ referral_id: referralId, ...values })
            .onConflict((oc) => oc.column('referral_id').doUpdateSet(values))
            .returningAll()
            .executeTakeFirstOrThrow();
          await rt.publish(
            trx,
            events.NewcomerDataReceived,
            { referralId, caseRef: referral.case_ref, providerId: rt.agencyId, ownerAgencyId: ownerId, categories: disclosed.grantedCategories },
            referral.case_ref,
          );
          rt.logger.info({ referral_id: referralId, categories: disclosed.grantedCategories }, 'consented data received');
          await appendAudit(trx, {
            ...actor,
            action: 'fetch',
            subjectRef: referral.case_ref,
            categories: disclosed.grantedCategories,
            purpose: referral.purpose,
            legalBasis: disclosed.legalBasis,
            details: { referral_id: referralId, owner_agency_id: ownerId },
            at: rt.now(),
          });
          return options.response(record);
        }),
      );
    },
  });
}

/** What the owner disclosed, as the columns of the copy kept here: only the granted categories. */
function receivedCopy(disclosed: foreignOffice.DiscloseNewcomerDataResponse) {
  const granted = (c: common.DataCategory) => disclosed.grantedCategories.includes(c);
  return {
    consent_id: disclosed.consentId,
    legal_basis: disclosed.legalBasis,
    categories: disclosed.grantedCategories,
    given_names: granted(DataCategory.DATA_CATEGORY_IDENTITY) ? disclosed.givenNames : null,
    family_name: granted(DataCategory.DATA_CATEGORY_IDENTITY) ? disclosed.familyName : null,
    birth_date: granted(DataCategory.DATA_CATEGORY_IDENTITY) ? disclosed.birthDate : null,
    nationality: granted(DataCategory.DATA_CATEGORY_NATIONALITY) ? disclosed.nationality : null,
    languages: granted(DataCategory.DATA_CATEGORY_LANGUAGES) ? disclosed.languages : null,
    municipality: granted(DataCategory.DATA_CATEGORY_MUNICIPALITY) ? disclosed.municipality : null,
    residence_status: granted(DataCategory.DATA_CATEGORY_RESIDENCE_STATUS) ? foreignOffice.residenceStatusToJSON(disclosed.residenceStatus) : null,
  };
}

/**
 * The declared GetReferral handler of a recipient: the referral with the copy of the newcomer's
 * data received for it, if any; reading the copy is on record in the same transaction.
 */
export function receivedReferralReader<R extends ReceivingAgency<DB, Row>, DB, Row extends ReceivedReferralRow, Res>(
  method: UnaryMethod<{ referralId: string }, Res>,
  respond: (trx: Transaction<DB>, referral: Row, record: NewcomerRecordRow | undefined) => Promise<Res> | Res,
): Declared<R> {
  return unary(method, {
    access: 'self',
    validate: (req) => {
      const v = new Violations();
      const referralId = v.text('referral_id', req.referralId, { max: 64 });
      v.throwIfAny();
      return referralId;
    },
    transaction: true,
    async handle(referralId, call) {
      const trx = ownTransaction<DB>(call);
      const row = await call.rt.inbox.get(trx, referralId);
      return respond(trx, row, await readReceivedData(trx, row, call.ctx, call.rt.now()));
    },
  });
}
