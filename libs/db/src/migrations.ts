import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type Migrations = Record<string, Migration>;

/**
 * Runs a service's migrations (kept in code, ordered by name) at start-up. Each lib that owns
 * tables (outbox, applied_event, idempotency) contributes its own, prefixed so the names stay unique.
 */
export async function migrateToLatest(db: Kysely<any>, ...sets: Migrations[]): Promise<string[]> {
  const all: Migrations = Object.assign({}, ...sets);
  const provider: MigrationProvider = { getMigrations: async () => all };
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
