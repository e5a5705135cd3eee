import { sql, type Kysely } from 'kysely';

// WatchTimeline hands out timeline steps in `seq` order, and a hole in `seq` is either a step
// whose transaction has not committed yet or one that never will (a rollback, or an insert that
// hit ON CONFLICT DO NOTHING). The feed tells the two apart with transaction snapshots: once every
// transaction that was running when the hole was seen has ended, the hole is final. That holds
// only if a transaction has its transaction id before it draws a `seq`: PostgreSQL assigns the id
// at the first write, which for an insert comes after the column defaults are evaluated. So the
// default asks for the id first (a SQL function runs its statements in order).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function timeline_entry_next_seq() returns bigint language sql volatile as $$
      select pg_current_xact_id();
      select nextval('timeline_entry_seq_seq');
    $$`.execute(db);
  await sql`alter table timeline_entry alter column seq set default timeline_entry_next_seq()`.execute(db);
}
