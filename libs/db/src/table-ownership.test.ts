import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// No module queries another module's tables: each table has an owner, and only the owner's
// source names it in a query (kysely or raw SQL). Others go through the owner's functions
// (its ports: eraseSubject, expire, forgetAnswersNaming, outboxStatus, the hub's desk port …).
// Reads the hand-written source only; tests may look into any table to check an effect.

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Modules by path, the longest prefix deciding; a file outside all of them is its own package. */
const modules = [
  'libs/audit',
  'libs/grpc',
  'libs/messaging',
  'libs/referrals',
  'libs/runtime',
  'services/console',
  'services/foreign-office',
  'services/job-centre',
  'services/migration-services',
  'services/lotsenhaus/src/one-stop',
  'services/lotsenhaus/src/directory',
  'services/lotsenhaus',
];

/** Table → the module(s) that own it. A name in two lists is two tables in two databases. */
const owners: Record<string, string[]> = {
  audit_log: ['libs/audit'],
  idempotency: ['libs/grpc'],
  outbox: ['libs/messaging'],
  outbox_stream: ['libs/messaging'],
  outbox_receipt: ['libs/messaging'],
  applied_event: ['libs/messaging'],
  // applied_event's first name, still in the migrations that made it before messaging_0004 renamed it.
  inbox: ['libs/messaging'],
  parked_message: ['libs/messaging'],
  newcomer_record: ['libs/referrals'],
  outgoing_referral: ['libs/referrals'],
  operator_action: ['libs/runtime', 'services/console'],
  // The foreign office: the newcomer register.
  newcomer: ['services/foreign-office'],
  consent: ['services/foreign-office'],
  consent_withdrawal: ['services/foreign-office', 'services/lotsenhaus'],
  referral: ['services/foreign-office'],
  referral_recipient: ['services/foreign-office'],
  data_access_log: ['services/foreign-office'],
  // The receiving agencies' inboxes: built by the referrals module, named and extended by the service.
  received_referral: ['services/migration-services', 'services/job-centre'],
  // Its first names, still in the migrations that made them before 0004-received-referral renamed them.
  inbox_referral: ['services/migration-services'],
  intake_referral: ['services/job-centre'],
  erasure: ['services/migration-services'],
  customer: ['services/job-centre'],
  language_course_funding: ['services/job-centre'],
  cooperation_plan: ['services/job-centre'],
  cooperation_plan_step: ['services/job-centre'],
  placement: ['services/job-centre'],
  // The hub.
  hub_referral: ['services/lotsenhaus'],
  case_index: ['services/lotsenhaus'],
  timeline_entry: ['services/lotsenhaus'],
  erasure_request: ['services/lotsenhaus'],
  provider_capacity: ['services/lotsenhaus'],
  routing_follow_up: ['services/lotsenhaus'],
  // The partner directory, a module of its own in the hub's deployment (issue 16).
  directory_organization: ['services/lotsenhaus/src/directory'],
  directory_offer: ['services/lotsenhaus/src/directory'],
  directory_location: ['services/lotsenhaus/src/directory'],
  directory_contact: ['services/lotsenhaus/src/directory'],
  directory_procedure: ['services/lotsenhaus/src/directory'],
  // The one-stop desk, a module of its own in the hub's deployment.
  one_stop_referral: ['services/lotsenhaus/src/one-stop'],
  one_stop_intake: ['services/lotsenhaus/src/one-stop'],
  one_stop_appointment: ['services/lotsenhaus/src/one-stop'],
  one_stop_assessment: ['services/lotsenhaus/src/one-stop'],
  one_stop_referral_on: ['services/lotsenhaus/src/one-stop'],
  // The console's telemetry store.
  deployment_sample: ['services/console'],
  stream_sample: ['services/console'],
  log_record: ['services/console'],
  metric_point: ['services/console'],
  span: ['services/console'],
};

/**
 * Known foreign access, each with the reason it is still there. None now: the hub's case flow
 * rewrites its stored routing events through the messaging lib's port (rewriteOutboxPayloads).
 */
const allowed = new Set<string>();

/** Catalogue names a raw query reads that no module owns, and SQL words after a keyword (`before update or delete`). */
const systemNames = new Set(['pg_class', 'pg_constraint', 'pg_indexes', 'information_schema', 'lateral', 'or']);
const cteName = /\b(?:with(?:\s+recursive)?|,)\s+([a-z_][a-z0-9_]*)\s+as\s*\(/gi;

const kyselyCall = /\b(?:selectFrom|insertInto|updateTable|deleteFrom|mergeInto|innerJoin|leftJoin|rightJoin|fullJoin|createTable|alterTable|dropTable|createIndex\([^)]*\)\s*(?:\.\w+\(\))*\s*\.on)\(\s*'([a-z_][a-z0-9_]*)(?:\s+as\s+\w+)?'/g;
const sqlTemplate = /\bsql(?:<[^`]*?>)?`([^`]*)`/g;
const sqlTable = /\b(?:from|into|update|join|table)\s+([a-z_][a-z0-9_]*)\b(?!\s*\()/gi;

/** The table names a source text uses in queries. */
export function tablesIn(source: string): Set<string> {
  const tables = new Set<string>();
  for (const m of source.matchAll(kyselyCall)) tables.add(m[1]!);
  for (const t of source.matchAll(sqlTemplate)) {
    const query = t[1]!;
    const ctes = new Set([...query.matchAll(cteName)].map((m) => m[1]!.toLowerCase()));
    for (const m of query.matchAll(sqlTable)) {
      const name = m[1]!.toLowerCase();
      if (!systemNames.has(name) && !ctes.has(name)) tables.add(name);
    }
  }
  return tables;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'gen') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function moduleOf(file: string): string {
  return modules.filter((m) => file === m || file.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0] ?? file.split('/').slice(0, 2).join('/');
}

describe('table ownership', () => {
  it('finds table names in kysely calls and raw SQL', () => {
    const source = "db.selectFrom('case_index as c').innerJoin('hub_referral', 'x', 'y'); sql`delete from idempotency where x in (select 1 from unnest(${a}))`; sql`with recursive pairs as (select 1) select * from pairs join span on true`; db.schema.createIndex('i').on('outbox').column('c')";
    expect([...tablesIn(source)].sort()).toEqual(['case_index', 'hub_referral', 'idempotency', 'outbox', 'span']);
  });

  it('lets no module query a table of another module', () => {
    const foreign: string[] = [];
    const unowned: string[] = [];
    // Hand-written source of the libs and services (the testing lib is test code).
    const files = ['libs', 'services', 'infra']
      .flatMap((top) => readdirSync(join(root, top)).map((pkg) => join(root, top, pkg, 'src')))
      .filter((dir) => !dir.includes(join('libs', 'testing')) && isDirectory(dir))
      .flatMap(sourceFiles);
    for (const path of files) {
      const file = relative(root, path).split('\\').join('/');
      const module = moduleOf(file);
      for (const table of tablesIn(readFileSync(path, 'utf8'))) {
        const own = owners[table];
        if (!own) unowned.push(`${file} ${table}`);
        else if (!own.includes(module) && !allowed.has(`${file} ${table}`)) foreign.push(`${file} (${module}) uses ${table} of ${own.join(' / ')}`);
      }
    }
    expect(unowned, 'tables without an owner in this test').toEqual([]);
    expect(foreign).toEqual([]);
  });
});
