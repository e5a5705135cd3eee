import { createNewcomerRecordTable, createReceivedReferralTable } from '@lotse/referrals';
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The receiving side's tables, as the referrals module builds them, and the first contact.
  await createReceivedReferralTable(db, 'inbox_referral', (t) =>
    t
      .addColumn('first_contact_date', 'text')
      .addColumn('contact_channel', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('interpreter_used', 'boolean', (c) => c.notNull().defaultTo(false)),
  );
  await createNewcomerRecordTable(db, 'inbox_referral');
}
