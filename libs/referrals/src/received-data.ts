import { common, dataProtection, events, foreignOffice } from '@lotse/contracts';
import { actorOfCall, appendAudit, expiresAt, forwardCaseworker, type RetentionRule } from '@lotse/audit';
import { createClient, FailedPreconditionError, once, previousResponse, requireOwnCaseworker, throwDownstream, UnavailableError, type CallContext, type PromiseClient } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { Kysely, Transaction } from 'kysely';
import type { ReferralInbox } from './inbox.js';
import { inboxTable, workflowDb, type NewcomerRecordRow, type ReceivedReferralRow } from './tables.js';
import { validateReferralCall, type ReferralCall } from './validate.js';

const { DataCategory } = common;

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** A received referral as every recipient's API shows it (its message adds the service's own fields). */
export function receivedReferralFields(row: ReceivedReferralRow) {
  return {
    referralId: row.referral_id,
    caseRef: row.case_ref,
    referrerAgencyId: row.referrer_agency_id,
    purpose: row.purpose,
    ageGroup: row.age_group,
    status: row.status,
    declineReason: row.decline_reason,
    receivedAt: row.received_at,
    decidedAt: row.decided_at ?? undefined,
    outcome: row.outcome,
  };
}

/** The newcomer's data as a recipient's API shows it (its NewcomerData message's fields). */
export function newcomerDataFields(row: NewcomerRecordRow) {
  return {
    categories: row.categories,
    givenNames: row.given_names ?? '',
    familyName: row.family_name ?? '',
    birthDate: row.birth_date ?? '',
    nationality: row.nationality ?? '',
    languages: row.languages ?? [],
    municipality: row.municipality ?? '',
    residenceStatus: row.residence_status ?? '',
    legalBasis: row.legal_basis,
  };
}

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

export interface ConsentedFetchOptions<DB, Row extends ReceivedReferralRow, Res> {
  inbox: ReferralInbox<DB, Row>;
  owners: OwnerClients;
  /** The service's status of an accepted referral, and how to name a status in an error. */
  accepted: number;
  statusName(status: number): string;
  /** The agency holding the newcomer's data. */
  ownerOf(referral: Row): string;
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
 * The FetchNewcomerData handler of a recipient: the owner discloses what the consent grants for
 * the referral's purpose (it checks the consent and logs the disclosure), the copy is kept with
 * its legal basis, the hub hears that data was received, and the fetch is on record here.
 */
export function consentedFetch<DB, Row extends ReceivedReferralRow, Res>(rt: AgencyContext<DB>, options: ConsentedFetchOptions<DB, Row, Res>) {
  const { inbox, codecs } = options;
  return async (req: ReferralCall, ctx: CallContext): Promise<Res> => {
    requireOwnCaseworker(ctx, rt.agencyId);
    const { v, requestId, referralId } = validateReferralCall(req);
    v.throwIfAny();
    const actor = actorOfCall(ctx);
    const key = { method: 'FetchNewcomerData', requestId, request: req, requestCodec: codecs[0] };
    // A retry must not disclose again: answer it from the stored first result.
    const previous = await previousResponse(rt.db as Kysely<any>, key, codecs[1]);
    if (previous) return previous;
    const referral = await inbox.get(rt.db, referralId);
    options.refuse?.(referral);
    if (referral.status !== options.accepted) {
      throw new FailedPreconditionError(`referral ${referralId} is ${options.statusName(referral.status)}; accept it before fetching the newcomer's data`);
    }
    const ownerId = options.ownerOf(referral);
    // The gRPC call runs outside any transaction: never hold the database while waiting on another agency.
    let disclosed: foreignOffice.DiscloseNewcomerDataResponse;
    try {
      disclosed = await options.owners
        .of(ownerId)
        .discloseNewcomerData({ caseRef: referral.case_ref, purpose: referral.purpose, categories: [], referralId: referral.referral_id }, { metadata: forwardCaseworker(ctx) });
    } catch (error) {
      throwDownstream(error, ownerId);
    }
    const granted = (c: common.DataCategory) => disclosed.grantedCategories.includes(c);
    return rt.transact((trx) =>
      once(trx, key, codecs[1], async () => {
        if (options.refuse) options.refuse(await inbox.lock(trx, referralId));
        const values = {
          case_ref: referral.case_ref,
          owner_agency_id: ownerId,
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
          fetched_at: rt.now(),
        };
        const record = await workflowDb(trx)
          .insertInto('newcomer_record')
          .values({ referral_id: referralId, ...values })
          .onConflict((oc) => oc.column('referral_id').doUpdateSet(values))
          .returningAll()
          .executeTakeFirstOrThrow();
        await rt.publish(
          trx,
          events.NewcomerDataReceived,
          'NewcomerDataReceived',
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
  };
}

/** The received copy of a referral's data, or undefined; reading it is on record in the same transaction. */
export async function readReceivedData(trx: Transaction<any>, referral: ReceivedReferralRow, ctx: CallContext, now: Date): Promise<NewcomerRecordRow | undefined> {
  const record = await workflowDb(trx).selectFrom('newcomer_record').selectAll().where('referral_id', '=', referral.referral_id).executeTakeFirst();
  if (record) {
    await appendAudit(trx, {
      ...actorOfCall(ctx),
      action: 'read',
      subjectRef: record.case_ref,
      categories: record.categories,
      purpose: referral.purpose,
      legalBasis: record.legal_basis,
      details: { referral_id: referral.referral_id, owner_agency_id: record.owner_agency_id },
      at: now,
    });
  }
  return record;
}

/** Which of these referrals have a received copy of the newcomer's data. */
export async function referralsWithData(db: Kysely<any>, referralIds: readonly string[]): Promise<Set<string>> {
  if (!referralIds.length) return new Set();
  const rows = await workflowDb(db).selectFrom('newcomer_record').select('referral_id').where('referral_id', 'in', [...referralIds]).execute();
  return new Set(rows.map((r) => r.referral_id));
}

/**
 * What a recipient tells the DataProtectionService about the receiving side's tables: the copies
 * received under consent, and the referrals with their routing fact (the age group); with the
 * retention rule's deadline when the service has one.
 */
export function receivedHoldings(table: string, rule?: RetentionRule) {
  const inbox = inboxTable(table);
  const retention = (since: Date) => (rule ? { retentionUntil: expiresAt(since, rule.period), retentionRule: rule.id } : {});
  return {
    async holdings(trx: Transaction<any>, caseRef: string): Promise<dataProtection.Holding[]> {
      const db = workflowDb(trx);
      const referrals = await db.selectFrom(inbox).selectAll().where('case_ref', '=', caseRef).orderBy('received_at').execute();
      const purposeOf = new Map(referrals.map((r) => [r.referral_id, r.purpose]));
      const records = await db.selectFrom('newcomer_record').selectAll().where('case_ref', '=', caseRef).orderBy('fetched_at').execute();
      return [
        ...records.map((r) =>
          dataProtection.Holding.fromPartial({
            record: 'received_data',
            categories: r.categories,
            purpose: purposeOf.get(r.referral_id) ?? common.Purpose.PURPOSE_UNSPECIFIED,
            legalBasis: r.legal_basis,
            since: r.fetched_at,
            ...retention(r.fetched_at),
            sourceAgencyId: r.owner_agency_id,
          }),
        ),
        // The referral itself carries a routing fact (the age group) until it is erased or expires.
        ...referrals
          .filter((r) => r.age_group !== common.AgeGroup.AGE_GROUP_UNSPECIFIED)
          .map((r) =>
            dataProtection.Holding.fromPartial({
              record: 'referral',
              categories: [DataCategory.DATA_CATEGORY_AGE_GROUP],
              purpose: r.purpose,
              legalBasis: `consent:${r.consent_id}`,
              since: r.received_at,
              ...retention(r.received_at),
              sourceAgencyId: r.referrer_agency_id,
            }),
          ),
      ];
    },

    /** The agencies whose data this recipient holds or held for the case: the referrers and the owners. */
    async owners(trx: Transaction<any>, caseRef: string): Promise<string[]> {
      const db = workflowDb(trx);
      const referrers = await db.selectFrom(inbox).select('referrer_agency_id').distinct().where('case_ref', '=', caseRef).execute();
      const owners = await db.selectFrom('newcomer_record').select('owner_agency_id').distinct().where('case_ref', '=', caseRef).execute();
      return [...new Set([...referrers.map((r) => r.referrer_agency_id), ...owners.map((o) => o.owner_agency_id)])];
    },
  };
}

// Erasure and retention of the received copies: the module's ports, so a service never queries
// newcomer_record itself.

/** Columns of newcomer_record per category. */
const categoryColumns: Record<number, ('given_names' | 'family_name' | 'birth_date' | 'nationality' | 'languages' | 'municipality' | 'residence_status')[]> = {
  [DataCategory.DATA_CATEGORY_IDENTITY]: ['given_names', 'family_name', 'birth_date'],
  [DataCategory.DATA_CATEGORY_NATIONALITY]: ['nationality'],
  [DataCategory.DATA_CATEGORY_LANGUAGES]: ['languages'],
  [DataCategory.DATA_CATEGORY_MUNICIPALITY]: ['municipality'],
  [DataCategory.DATA_CATEGORY_RESIDENCE_STATUS]: ['residence_status'],
};

/**
 * Erases the copies received under a consent or for the given referrals: each is deleted, or —
 * when `keep` names categories a statute obliges the agency to keep — restricted to those.
 * Returns what was erased and kept, and the legal bases the copies named (stored answers that
 * carried them must go too).
 */
export async function eraseSubject(
  trx: Transaction<any>,
  subject: { consentId: string; referralIds: readonly string[] },
  keep: (category: common.DataCategory) => boolean = () => false,
): Promise<{ erased: Set<common.DataCategory>; kept: Set<common.DataCategory>; legalBases: Set<string> }> {
  const db = workflowDb(trx);
  const records = await db
    .selectFrom('newcomer_record')
    .selectAll()
    .where((eb) => (subject.referralIds.length ? eb.or([eb('consent_id', '=', subject.consentId), eb('referral_id', 'in', [...subject.referralIds])]) : eb('consent_id', '=', subject.consentId)))
    .execute();
  const erased = new Set<common.DataCategory>();
  const kept = new Set<common.DataCategory>();
  const legalBases = new Set<string>();
  for (const record of records) {
    legalBases.add(record.legal_basis);
    const keeping = record.categories.filter(keep);
    record.categories.filter((c) => !keep(c)).forEach((c) => erased.add(c));
    keeping.forEach((c) => kept.add(c));
    if (keeping.length === 0) {
      await db.deleteFrom('newcomer_record').where('referral_id', '=', record.referral_id).execute();
      continue;
    }
    const cleared = Object.fromEntries(record.categories.filter((c) => !keeping.includes(c)).flatMap((c) => categoryColumns[c] ?? []).map((col) => [col, null]));
    await db.updateTable('newcomer_record').set({ ...cleared, categories: keeping }).where('referral_id', '=', record.referral_id).execute();
  }
  return { erased, kept, legalBases };
}

/** The referrals whose received copy was fetched before the cutoff: candidates for retention. */
export async function receivedBefore(db: Kysely<any>, cutoff: Date): Promise<string[]> {
  return (await workflowDb(db).selectFrom('newcomer_record').select('referral_id').where('fetched_at', '<', cutoff).execute()).map((r) => r.referral_id);
}

/**
 * Deletes a referral's received copy when it was fetched before the cutoff (the retention
 * period ended), and says whether another copy still names the same legal basis. Undefined when
 * there was nothing to delete.
 */
export async function expire(trx: Transaction<any>, referralId: string, cutoff: Date): Promise<{ record: NewcomerRecordRow; basisStillUsed: boolean } | undefined> {
  const db = workflowDb(trx);
  const record = await db.deleteFrom('newcomer_record').where('referral_id', '=', referralId).where('fetched_at', '<', cutoff).returningAll().executeTakeFirst();
  if (!record) return undefined;
  const sameBasis = await db.selectFrom('newcomer_record').select('referral_id').where('legal_basis', '=', record.legal_basis).executeTakeFirst();
  return { record, basisStillUsed: sameBasis !== undefined };
}
