import type { Kysely } from 'kysely';

// The hub's reconciliation of its routings with the recipients' receipts: how often it sent a
// routing again because the recipient never reported it received (see events/routing-follow-up.ts).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('routing_follow_up')
    .addColumn('referral_id', 'text', (c) => c.primaryKey())
    .addColumn('routed_event_id', 'text', (c) => c.notNull())
    .addColumn('resent_at', 'timestamptz', (c) => c.notNull())
    .addColumn('resent_count', 'integer', (c) => c.notNull())
    .execute();
}
