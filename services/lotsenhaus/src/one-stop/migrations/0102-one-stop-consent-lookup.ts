import type { Kysely } from 'kysely';

// A withdrawal erases the desk's competence assessments under the consent; find them by index.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('one_stop_assessment_consent_idx').ifNotExists().on('one_stop_assessment').column('consent_id').execute();
}
