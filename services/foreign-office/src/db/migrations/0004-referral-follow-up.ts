import type { Kysely } from 'kysely';

// A referral request is confirmed by the hub's first status change. Until then the office keeps
// the request's event id, to send the event again from its outbox when the broker lost it (a
// wiped store, a consumer's acknowledged-then-lost write), and counts how often it did.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('referral')
    .addColumn('request_event_id', 'text')
    .addColumn('resent_at', 'timestamptz')
    .addColumn('resent_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('referral_awaiting_hub_idx').on('referral').columns(['status', 'requested_at']).execute();
}
