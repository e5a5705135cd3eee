import { migrationServices as ms } from '@lotse/contracts';
import { PermissionDeniedError } from '@lotse/grpc';
import { newcomerDataFields, receivedReferralFields, receivingHandlersFor, referralsWithData, type NewcomerRecordRow, type ReceivingAgency } from '@lotse/referrals';
import { handlersFor } from '@lotse/runtime';
import type { Kysely, Selectable } from 'kysely';
import type { InboxReferralTable, MigrationServicesDb } from '../db/schema.js';

// What several handlers of the migration service read of its own records: a referral of its inbox
// as the API shows it, whether data was received for it, and whether its consent was withdrawn.

type InboxRow = Selectable<InboxReferralTable>;

/** The migration service's context with its referral inbox. */
export type MigrationServices = ReceivingAgency<MigrationServicesDb, InboxRow>;

/** The migration service's handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<MigrationServices>();

/** The handlers every receiving agency shares (libs/referrals), for the migration service's runtime. */
export const shared = receivingHandlersFor<MigrationServices, MigrationServicesDb, InboxRow>();

export function toInboxReferral(row: InboxRow, dataFetched: boolean): ms.InboxReferral {
  return ms.InboxReferral.fromPartial({ ...receivedReferralFields(row), firstContactDate: row.first_contact_date ?? '', dataFetched });
}

export function toNewcomerData(row: NewcomerRecordRow): ms.NewcomerData {
  return ms.NewcomerData.fromPartial(newcomerDataFields(row));
}

export async function hasData(trx: Kysely<MigrationServicesDb>, referralId: string) {
  return (await referralsWithData(trx, [referralId])).has(referralId);
}

/** After a withdrawal nothing more is fetched or kept under the referral: no legal basis. */
export function refuseWithdrawn(row: InboxRow) {
  if (row.status === ms.InboxStatus.INBOX_STATUS_WITHDRAWN) {
    throw new PermissionDeniedError(`the consent of referral ${row.referral_id} was withdrawn; its data may no longer be fetched or kept`);
  }
}
