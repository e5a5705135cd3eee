// The coordination circle's statistics from a hub's timeline (real PostgreSQL and NATS): the
// steps are written into timeline_entry and case_index as the hub's consumers would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { common, statistics as st } from '@lotse/contracts';
import type { TestDatabase } from '@lotse/db';
import { createClient, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { connectNats, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import type { RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropWhenIdle, grpcError, natsUrl, randomId } from '@lotse/testing';
import { create, type HubDb } from '../src/index.js';

const { StatisticsDimension: D } = st;
const hubId = randomId('lh');
const callerId = randomId('jc');
const providerA = randomId('mbe');
const providerB = randomId('mbe');

let tmp: string;
let database: TestDatabase;
let hub: ReturnType<typeof create>;
let running: RunningAgency<HubDb>;
let nats: NatsClients;
let client: PromiseClient<st.StatisticsServiceClient>;

const day = (d: number, h = 9) => new Date(Date.UTC(2026, 9, d, h));

/** One case: requested on `d`, received by `provider`, then the named steps `after` days later. */
async function seedCase(
  municipality: string,
  ageGroup: common.AgeGroup,
  provider: string,
  d: number,
  steps: [string, number][],
  referral: { purpose?: common.Purpose; languages?: string[] } = {},
) {
  const caseRef = `C-${uuidv7().slice(-12)}`;
  const db = running.ctx.db;
  await db.insertInto('case_index').values({ case_ref: caseRef, status: 1, current_agency_id: provider, referral_id: 'r', municipality, age_group: ageGroup, opened_at: day(d), updated_at: day(d) }).execute();
  // The case's first referral: purpose and languages; a later one must not count.
  for (const [n, purpose, languages] of [
    [0, referral.purpose ?? common.Purpose.PURPOSE_MIGRATION_COUNSELLING, referral.languages ?? []],
    [1, common.Purpose.PURPOSE_JOB_PLACEMENT, ['tr']],
  ] as const) {
    await db
      .insertInto('hub_referral')
      .values({
        referral_id: `${caseRef}-r${n}`,
        case_ref: caseRef,
        referrer_agency_id: 'fo',
        provider_id: provider,
        status: 1,
        purpose,
        consent_id: 'consent',
        consented_recipients: [provider],
        municipality,
        age_group: ageGroup,
        preferred_provider_id: null,
        decline_reason: 0,
        requested_at: day(d, 9 + n * 5),
        updated_at: day(d, 9 + n * 5),
        expires_at: null,
        escalated_at: null,
        languages: [...languages],
      })
      .execute();
  }
  const all: [string, string, Date][] = [
    ['ReferralRequested', 'fo', day(d)],
    ['ReferralRouted', hubId, day(d, 10)],
    ['ReferralReceived', provider, day(d, 11)],
    ...steps.map(([kind, after]) => [kind, provider, new Date(day(d).getTime() + after * 86_400_000)] as [string, string, Date]),
  ];
  for (const [kind, agency, at] of all) {
    await db.insertInto('timeline_entry').values({ event_id: uuidv7(), case_ref: caseRef, referral_id: 'r', event_type: kind, agency_id: agency, occurred_at: at, trace_id: '', summary: 'not read' }).execute();
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'lotse-statistics-test-'));
  const pkiDir = join(tmp, 'pki');
  await ensureDevPki(pkiDir, [
    { id: hubId, agencyType: 'lotsenhaus' },
    { id: callerId, agencyType: 'job-centre' },
  ]);
  const directoryFile = join(tmp, 'routing.json');
  writeFileSync(
    directoryFile,
    JSON.stringify({
      region: 'Test',
      municipalities: [{ code: 'koblenz', name: 'Stadt Koblenz' }, { code: 'mayen', name: 'Stadt Mayen' }, { code: 'bendorf', name: 'Stadt Bendorf' }],
      referrers: [{ agencyId: randomId('fo'), name: 'Test-ABH', agencyType: 'foreign-office' }],
      providers: [],
    }),
  );
  database = await createTestDatabase('lotse_statistics_test');
  nats = await connectNats({ servers: natsUrl, name: 'statistics-test' });
  hub = create({ agencyId: hubId, agencyType: 'lotsenhaus', grpc: { host: '127.0.0.1', port: 0 }, database: { url: database.url, dataDir: 'unused' }, natsUrl, pkiDir, logLevel: 'silent', directoryFile });
  running = await hub.start();
  client = createClient(st.StatisticsServiceClient, `127.0.0.1:${running.grpcPort}`, loadIdentity(pkiDir, callerId));
  const { AGE_GROUP_ADULT: adult, AGE_GROUP_YOUTH: youth } = common.AgeGroup;
  // Koblenz: 10 cases at provider A, 7 with a first contact after 2..8 days; Mayen: 6 at B;
  // Bendorf: 1 case (a cell that must not be published).
  // First referrals: Koblenz's for counselling, 5 speaking Arabic (and German) and 5 Ukrainian;
  // Mayen's for the job centre, 4 Ukrainian and 2 without languages; Bendorf's in Persian.
  const { PURPOSE_LABOUR_MARKET_INTEGRATION: labour } = common.Purpose;
  for (let i = 0; i < 10; i++) {
    await seedCase('koblenz', i < 7 ? adult : youth, providerA, 1 + i, i < 7 ? [['FirstContactRecorded', 2 + i]] : [['ReferralDeclined', 1]], { languages: i < 5 ? ['ar', 'de'] : ['uk'] });
  }
  for (let i = 0; i < 6; i++) {
    await seedCase('mayen', adult, providerB, 3 + i, i < 4 ? [['FirstContactRecorded', 10]] : [['ReferralEscalated', 7]], { purpose: labour, languages: i < 4 ? ['uk'] : [] });
  }
  await seedCase('bendorf', adult, providerB, 5, [['FirstContactRecorded', 1]], { languages: ['fa'] });
  // Outside the period:
  await seedCase('koblenz', adult, providerA, 28, [['FirstContactRecorded', 1]]);
});

afterAll(async () => {
  client?.close();
  await hub?.stop();
  if (nats) {
    await nats.jsm.streams.delete(streamName(hubId)).catch(() => undefined);
    await nats.close();
  }
  if (database) await dropWhenIdle(database);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const period = { from: day(1, 0), to: day(20, 0) };
const table = (r: st.GetStatisticsResponse, measure: string, dimension: st.StatisticsDimension) => r.tables.find((t) => t.measure === measure && t.dimension === dimension)!;

describe('GetStatistics', () => {
  it('counts the cohort per municipality and hides the small cell together with another', async () => {
    const r = await client.getStatistics({ ...period, dimensions: [D.STATISTICS_DIMENSION_MUNICIPALITY], minCount: 0 });
    expect(r.minCount).toBe(3);
    const referred = table(r, 'referred', D.STATISTICS_DIMENSION_MUNICIPALITY);
    expect(referred.total).toBe(17);
    const cells = Object.fromEntries(referred.cells.map((c) => [c.key, c.suppressed ? '*' : c.count]));
    // Bendorf (1) is hidden, and Mayen (6, the smallest other) with it; Koblenz (10) is published.
    expect(cells).toEqual({ bendorf: '*', mayen: '*', koblenz: 10 });
    expect(referred.cells.find((c) => c.key === 'koblenz')!.label).toBe('Stadt Koblenz');
    const started = table(r, 'counselling-started', D.STATISTICS_DIMENSION_MUNICIPALITY);
    expect(started.total).toBe(12);
    // Too few escalations in the whole cohort (2): nothing published.
    expect(table(r, 'escalated', D.STATISTICS_DIMENSION_MUNICIPALITY).withheld).toBe('total-below-minimum');
    expect(table(r, 'escalated', D.STATISTICS_DIMENSION_MUNICIPALITY).cells).toEqual([]);
  });

  it('gives median and p90 days to the first counselling contact only where the count is published', async () => {
    const r = await client.getStatistics({ ...period, dimensions: [D.STATISTICS_DIMENSION_MUNICIPALITY], minCount: 0 });
    const d = r.durations.find((x) => x.measure === 'first-counselling-contact')!;
    const koblenz = d.rows.find((x) => x.key === 'koblenz')!;
    expect(koblenz).toMatchObject({ suppressed: false, medianDays: 5, p90Days: 8 });
    expect(d.rows.find((x) => x.key === 'mayen')!.suppressed).toBe(true);
    expect(d.rows.find((x) => x.key === 'bendorf')!).toMatchObject({ suppressed: true, medianDays: 0 });
    expect(d.overallSuppressed).toBe(false);
  });

  it('by age group and provider, and as CSV with the hidden cells marked', async () => {
    const r = await client.getStatistics({ ...period, dimensions: [], minCount: 4 });
    expect(r.minCount).toBe(4);
    const byAge = table(r, 'referred', D.STATISTICS_DIMENSION_AGE_GROUP);
    // 3 youths at min 4: hidden, and the adults with them (else total minus adults gives it away).
    expect(byAge.total).toBe(17);
    expect(byAge.cells.map((c) => [c.key, c.suppressed, c.count])).toEqual([['12–26', true, 0], ['27+', true, 0]]);
    const byProvider = table(r, 'referred', D.STATISTICS_DIMENSION_PROVIDER);
    expect(byProvider.cells.map((c) => c.count).sort()).toEqual([10, 7]);
    expect(r.csv.split('\n')[0]).toBe('measure,dimension,key,label,count,suppressed,median_days,p90_days');
    expect(r.csv).toContain('referred,municipality,bendorf,Stadt Bendorf,,yes,,');
    expect(r.csv).toContain('referred,municipality,koblenz,Stadt Koblenz,10,no,,');
    expect(r.csv).toContain('escalated,municipality,,,,withheld: total-below-minimum,,');
  });

  it('by the purpose and the first language of the case’s first referral, small cells hidden', async () => {
    const r = await client.getStatistics({ ...period, dimensions: [D.STATISTICS_DIMENSION_PURPOSE, D.STATISTICS_DIMENSION_LANGUAGE], minCount: 0 });
    const byPurpose = table(r, 'referred', D.STATISTICS_DIMENSION_PURPOSE);
    expect(byPurpose.total).toBe(17);
    // The second referral of every case (job placement) is not counted.
    expect(byPurpose.cells.map((c) => [c.key, c.label, c.count])).toEqual([
      ['labour_market_integration', 'Arbeitsmarktintegration', 6],
      ['migration_counselling', 'Migrationsberatung', 11],
    ]);
    const byLanguage = table(r, 'referred', D.STATISTICS_DIMENSION_LANGUAGE);
    expect(byLanguage.total).toBe(17);
    const cells = Object.fromEntries(byLanguage.cells.map((c) => [c.key, c.suppressed ? '*' : c.count]));
    // Persian (1) and no languages (2) are below 3: hidden; Arabic and Ukrainian published.
    expect(cells).toMatchObject({ ar: 5, uk: 9, fa: '*', '(keine Angabe)': '*' });
    expect(byLanguage.cells.find((c) => c.key === 'ar')!.label).toBe('Arabisch');
    expect(r.csv).toContain('referred,purpose,migration_counselling,Migrationsberatung,11,no,,');
  });

  it('publishes nothing for a period with fewer cases than the minimum', async () => {
    const r = await client.getStatistics({ from: day(25, 0), to: day(31, 0), dimensions: [D.STATISTICS_DIMENSION_MUNICIPALITY], minCount: 0 });
    expect(r.tables.every((t) => t.withheld === 'total-below-minimum' && t.cells.length === 0)).toBe(true);
    expect(r.durations.every((d) => d.overallSuppressed && d.rows.every((x) => x.suppressed))).toBe(true);
  });

  it('refuses a bad period, an unknown dimension and a lower minimum, naming the field', async () => {
    const e = await grpcError(client.getStatistics({ from: day(5), to: day(1), dimensions: [D.STATISTICS_DIMENSION_PROVIDER], minCount: 2 }));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(e).map((v) => v.field).sort()).toEqual(['min_count', 'to']);
    // An enum number the .proto does not define is refused at the edge, before the handler.
    const unknown = await grpcError(client.getStatistics({ ...period, dimensions: [9 as st.StatisticsDimension], minCount: 0 }));
    expect(fieldViolationsOf(unknown).map((v) => v.field)).toEqual(['dimensions[0]']);
    const missing = await grpcError(client.getStatistics({ from: undefined, to: undefined, dimensions: [], minCount: 0 }));
    expect(fieldViolationsOf(missing).map((v) => v.field)).toEqual(['from', 'to']);
  });
});
