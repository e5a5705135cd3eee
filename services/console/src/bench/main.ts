// Measures the console's store with a million spans: how fast it ingests OTLP/HTTP JSON, and how
// long the queries of its views take.
//
//   pnpm --filter @lotse/console bench                      # embedded PGlite (the default) in a temp folder
//   pnpm --filter @lotse/console bench -- --postgres        # a fresh database on 127.0.0.1:5432
//   SPANS=200000 pnpm --filter @lotse/console bench         # fewer spans
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, migrateToLatest, openDatabase, sql, type TestDatabase } from '@lotse/db';
import { consoleMigrations } from '../db/migrations/index.js';
import type { ConsoleDb } from '../db/schema.js';
import { parseTraces } from '../otlp/parse.js';
import { TelemetryStore } from '../store/telemetry-store.js';

const total = Number(process.env.SPANS ?? 1_000_000);
const usePostgres = process.argv.includes('--postgres');
const services = ['kv-mayen-koblenz', 'lotsenhaus', 'caritas-koblenz', 'caritas-rhein-mosel-ahr', 'awo-rheinland'];
const hour = 3_600_000_000;

let seed = 42;
// A 32-bit LCG (Math.imul keeps it exact): the same data on every run.
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 0x1_0000_0000);
const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
const hex = (bytes: number) => Array.from({ length: bytes }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
const kv = (key: string, value: string | number) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value } });

/** One referral-like trace of ~20 spans: a gRPC call, its SQL, a publish, and consumes at two other deployments. */
function traceRequest(nowUs: number, spanBudget: number) {
  const traceId = hex(16);
  const start = nowUs - Math.floor(random() * 24 * hour);
  const caseRef = random() < 0.5 ? `C-${hex(5).toUpperCase()}` : undefined;
  const byService = new Map<string, any[]>();
  const add = (service: string, span: any) => {
    if (!byService.has(service)) byService.set(service, []);
    byService.get(service)!.push(span);
  };
  const [from, hubId, to] = [pick(services), 'lotsenhaus', pick(services.slice(2))];
  const rootId = hex(8);
  let t = start;
  const ns = (us: number) => `${us}000`;
  const span = (service: string, name: string, kind: number, parent: string | undefined, dur: number, attrs: any[], error = false) => {
    const id = parent === undefined ? rootId : hex(8);
    add(service, {
      traceId,
      spanId: id,
      parentSpanId: parent,
      name,
      kind,
      startTimeUnixNano: ns(t),
      endTimeUnixNano: ns(t + dur),
      attributes: [...attrs, ...(caseRef ? [kv('lotse.case_ref', caseRef)] : [])],
      status: { code: error ? 2 : 0 },
    });
    return id;
  };
  const err = random() < 0.01;
  span(from, `lotse.foreign_office.v1.ForeignOfficeService/${pick(['RequestReferral', 'RegisterNewcomer', 'RecordConsent'])}`, 2, undefined, 20_000 + Math.floor(random() * 200_000), [kv('rpc.service', 'ForeignOfficeService'), kv('rpc.grpc.status_code', err ? 13 : 0), kv('lotse.caller_agency', pick(services))], err);
  let n = 1;
  while (n < spanBudget - 4) {
    t += 300 + Math.floor(random() * 3000);
    span(from, `pg ${pick(['SELECT', 'INSERT', 'UPDATE', 'BEGIN', 'COMMIT'])}`, 3, rootId, 200 + Math.floor(random() * 8000), [kv('db.system', 'postgresql')]);
    n++;
  }
  const pub = span(from, `publish lotse.${from}.referral-requested`, 4, rootId, 5000, [kv('messaging.destination.name', `lotse.${from}.referral-requested`)]);
  t += 8000;
  const consume = span(hubId, `consume lotse.${from}.referral-requested`, 5, pub, 30_000 + Math.floor(random() * 50_000), [kv('messaging.destination.name', `lotse.${from}.referral-requested`), kv('lotse.event_type', 'ReferralRequested')], random() < 0.005);
  t += 10_000;
  const pub2 = span(hubId, `publish lotse.lotsenhaus.referral-routed.${to}`, 4, consume, 4000, [kv('messaging.destination.name', `lotse.lotsenhaus.referral-routed.${to}`)]);
  t += 6000;
  span(to, `consume lotse.lotsenhaus.referral-routed.${to}`, 5, pub2, 20_000, [kv('messaging.destination.name', `lotse.lotsenhaus.referral-routed.${to}`), kv('lotse.event_type', 'ReferralRouted')]);
  return { traceId, caseRef, spans: n + 4, byService };
}

async function main() {
  let cleanup = async () => {};
  let database;
  let where: string;
  if (usePostgres) {
    const test: TestDatabase = await createTestDatabase('lotse_console_bench');
    database = await openDatabase<ConsoleDb>({ url: test.url, dataDir: '' });
    cleanup = async () => {
      await database!.close();
      await test.drop();
    };
    where = `PostgreSQL (${test.name})`;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'lotse-console-bench-'));
    database = await openDatabase<ConsoleDb>({ dataDir: dir });
    cleanup = async () => {
      await database!.close();
      rmSync(dir, { recursive: true, force: true });
    };
    where = 'embedded PGlite';
  }
  try {
    await migrateToLatest(database.db, consoleMigrations);
    const store = new TelemetryStore(database.db);
    const nowUs = Date.now() * 1000;
    console.log(`Inserting ${total.toLocaleString('en')} spans into ${where}, as OTLP/HTTP JSON requests of ~1000 spans…`);
    const samples: { traceId: string; caseRef?: string }[] = [];
    let inserted = 0;
    let parseMs = 0;
    const started = performance.now();
    while (inserted < total) {
      const resourceSpans = new Map<string, any[]>();
      let batch = 0;
      while (batch < 1000 && inserted + batch < total) {
        const trace = traceRequest(nowUs, Math.min(20, total - inserted - batch));
        if (samples.length < 400 && (inserted + batch) % 50 === 0) samples.push(trace);
        for (const [service, spans] of trace.byService) {
          if (!resourceSpans.has(service)) resourceSpans.set(service, []);
          resourceSpans.get(service)!.push(...spans);
        }
        batch += trace.spans;
      }
      const body = JSON.stringify({
        resourceSpans: [...resourceSpans].map(([service, spans]) => ({ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ scope: { name: 'bench' }, spans }] })),
      });
      const p0 = performance.now();
      const { spans } = parseTraces(JSON.parse(body));
      parseMs += performance.now() - p0;
      await store.addSpans(spans);
      inserted += spans.length;
      if (inserted % 100_000 < spans.length) console.log(`  ${inserted.toLocaleString('en')} spans, ${Math.round(inserted / ((performance.now() - started) / 1000)).toLocaleString('en')} spans/s`);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`Ingest: ${inserted.toLocaleString('en')} spans in ${seconds.toFixed(1)} s = ${Math.round(inserted / seconds).toLocaleString('en')} spans/s (JSON parsing ${(parseMs / 1000).toFixed(1)} s of it)`);
    await sql`analyze`.execute(database.db);
    const stored = await store.counts();
    const flows = await store.flows(nowUs, 24 * 60);
    console.log(`Stored: ${stored.spans.toLocaleString('en')} spans; the 24 h map aggregates ${flows.edges.reduce((n, e) => n + e.count, 0).toLocaleString('en')} flow spans on ${flows.edges.length} edges and ${flows.services.reduce((n, s) => n + s.spans, 0).toLocaleString('en')} spans per service`);

    const withCase = samples.filter((s) => s.caseRef);
    const timings: [string, number][] = [];
    async function time(name: string, fn: () => Promise<unknown>, runs = 5) {
      await fn(); // warm the cache, as a second look by the operator would
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) await fn();
      timings.push([name, (performance.now() - t0) / runs]);
    }
    let i = 0;
    const next = <T>(list: T[]) => list[i++ % list.length]!;
    if (!samples.length || !withCase.length) throw new Error('no sample traces were kept; use more spans');
    await time('trace by id (waterfall + logs)', () => store.trace(next(samples).traceId), 20);
    await time('search: newest traces, no filter', () => store.searchTraces({}));
    await time('search: service', () => store.searchTraces({ service: 'caritas-koblenz' }));
    await time('search: service + operation', () => store.searchTraces({ service: 'lotsenhaus', operation: 'consume lotse.kv-mayen-koblenz.referral-requested' }));
    await time('search: min duration 250 ms', () => store.searchTraces({ minDurationMs: 250 }));
    await time('search: service + min duration 200 ms', () => store.searchTraces({ service: 'kv-mayen-koblenz', minDurationMs: 200 }));
    await time('search: errors only', () => store.searchTraces({ errorsOnly: true }));
    await time('search: errors + service + operation', () => store.searchTraces({ errorsOnly: true, service: 'lotsenhaus', operation: 'consume lotse.caritas-koblenz.referral-requested' }));
    await time('search: case reference', () => store.searchTraces({ caseRef: next(withCase).caseRef }), 20);
    await time('map: flows, last 15 min', () => store.flows(nowUs, 15));
    await time('map: flows, last 60 min', () => store.flows(nowUs, 60));
    await time('map: flows, last 24 h (all spans)', () => store.flows(nowUs, 24 * 60), 2);
    await time('operations for the search form (start-up)', () => store.loadOperations(), 2);
    await time('stored counts', () => store.counts());
    console.log(`\nQuery times with ${inserted.toLocaleString('en')} spans in ${where} (mean of several runs, warm):`);
    for (const [name, ms] of timings) console.log(`  ${name.padEnd(48)} ${ms.toFixed(1).padStart(8)} ms`);
  } finally {
    await cleanup();
  }
}

await main();
