import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The languages the newcomer speaks, a routing fact like the municipality: received with the
  // first referral (where the consent grants them), reused for onward referrals under the same
  // consent and on re-routing, erased when the consent is withdrawn.
  await db.schema.alterTable('hub_referral').addColumn('languages', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`)).execute();
}
