import { common, dataProtection } from '@lotse/contracts';
import { actorOfCall, appendAudit, expiresAt, type RetentionRule } from '@lotse/audit';
import type { CallContext } from '@lotse/grpc';
import type { Kysely, Transaction } from 'kysely';
import { inboxTable, workflowDb, type NewcomerRecordRow, type ReceivedReferralRow } from './tables.js';

// The copies of newcomers' data a recipient received under consent (newcomer_record): how they
// are shown, read on record, reported to the data subject, erased and expired.

const { DataCategory } = common;

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
