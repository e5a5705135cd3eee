import type { Kysely } from 'kysely';

// A customer was found by case or customer number among all customers of the same status (the
// status index), a scan that grows with every customer the job centre ever had.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('customer_case_idx').ifNotExists().on('customer').columns(['case_ref', 'status']).execute();
  await db.schema.createIndex('customer_number_idx').ifNotExists().on('customer').columns(['customer_number', 'status']).execute();
}
