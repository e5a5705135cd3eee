import { sql, type Kysely } from 'kysely';

// Who acted, when the console signs people in: the verified staff id and the roles the token
// carried. Null for actions taken with the operator token (no person behind it).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('operator_action')
    .addColumn('operator_sub', 'text')
    .addColumn('operator_roles', sql`text[]`)
    .execute();
}
