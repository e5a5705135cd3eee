import { sql, type Kysely, type Migrations } from '@lotse/db';

/** The operator API's audit trail; part of every deployment's database (prefixed like the other lib migrations). */
export const operatorMigrations: Migrations = {
  operator_0001_operator_action: {
    up: async (db: Kysely<any>) => {
      await db.schema
        .createTable('operator_action')
        .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        // replay | discard | replay_failed
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('parked_id', 'integer', (c) => c.notNull())
        // From the caller's certificate, not from the request.
        .addColumn('operator_agency_id', 'text', (c) => c.notNull())
        .addColumn('operator_name', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('operator_action_parked_idx').on('operator_action').columns(['parked_id', 'at']).execute();
    },
  },
  // Reconciliations are audited too; they name no parked message.
  operator_0002_reconcile_audited: {
    up: async (db: Kysely<any>) => {
      await db.schema.alterTable('operator_action').alterColumn('parked_id', (c) => c.dropNotNull()).execute();
    },
  },
  // With sign-in the console forwards the operator's access token: the verified staff id and its
  // roles are kept beside the certificate's agency. Null for a call as software (no person).
  operator_0003_operator_person: {
    up: async (db: Kysely<any>) => {
      await db.schema.alterTable('operator_action').addColumn('operator_sub', 'text').addColumn('operator_roles', sql`text[]`).execute();
    },
  },
};
