import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { startTelemetry } from '@lotse/telemetry';
import { sql } from 'kysely';
import { createTestDatabase, openDatabase, type StatementTracing, type TestDatabase } from '../src/index.js';

// The SDK as the telemetry preload sets it up, for this file only (each file runs in its own process).
const exporter = new InMemorySpanExporter();
startTelemetry({ serviceName: 'db-test', exporter, simple: true });
const tracer = trace.getTracer('db-test');

describe('spans for SQL statements', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });

  /** Runs a fast, a slow (60 ms) and a failing statement inside a span; returns the statement spans. */
  async function statementSpans(traceStatements: StatementTracing) {
    const { db, close } = await openDatabase<any>({ url: testDb.url, dataDir: 'unused', poolSize: 1, traceStatements, slowStatementMs: 40 });
    exporter.reset();
    await tracer.startActiveSpan('request', async (span) => {
      await sql`select 1`.execute(db);
      await sql`select pg_sleep(0.06)`.execute(db);
      await expect(sql`select * from no_such_table`.execute(db)).rejects.toThrow(/no_such_table/);
      span.end();
    });
    await close();
    return exporter
      .getFinishedSpans()
      .filter((s) => s.name.startsWith('pg '))
      .map((s) => ({ statement: String(s.attributes['db.statement']), error: s.status.code === 2 }));
  }

  it('traces every statement with "all"', async () => {
    const spans = await statementSpans('all');
    expect(spans.map((s) => s.statement)).toEqual(['select 1', 'select pg_sleep(0.06)', 'select * from no_such_table']);
  });

  it('traces only slow and failed statements with "slow"', async () => {
    const spans = await statementSpans('slow');
    expect(spans).toEqual([
      { statement: 'select pg_sleep(0.06)', error: false },
      { statement: 'select * from no_such_table', error: true },
    ]);
  });

  it('traces none with "off"', async () => {
    expect(await statementSpans('off')).toEqual([]);
  });
});
