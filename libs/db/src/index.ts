export { openDatabase, statementTracingModes, type Database, type DatabaseConfig, type DatabaseHooks, type StatementTracing } from './database.js';
export { migrateToLatest, type Migrations } from './migrations.js';
export { createTestDatabase, testServerUrl, type TestDatabase } from './test-database.js';
export { sql, type Kysely, type Transaction } from 'kysely';
export { createEmbeddedDatabases } from './embedded-data-dirs.js';
export { DatabaseWatch, isDatabaseUnavailable, type DatabaseAvailability, type DatabaseWatchOptions } from './availability.js';
