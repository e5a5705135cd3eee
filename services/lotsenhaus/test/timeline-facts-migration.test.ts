// Migration 0008 against the real PostgreSQL: timeline steps recorded as text before it read the
// same after it, the hub's requests become facts (their stored text, with the routing facts in
// it, goes), and such a request reads as erased once its consent is withdrawn.
import { migrateToLatest, openDatabase, type Database, type TestDatabase } from '@lotse/db';
import { createTestDatabase, dropWhenIdle } from '@lotse/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timelineTexts } from '../src/api/timeline-text.js';
import { hubMigrations } from '../src/db/migrations/index.js';
import type { HubDb } from '../src/db/schema.js';
import { requestedSummaryAfterErasure } from '../src/domain/timeline-facts.js';

let database: TestDatabase;
let hub: Database<HubDb>;

const before = Object.fromEntries(Object.entries(hubMigrations).filter(([name]) => name !== '0008-timeline-facts'));
const legacy = [
  ['e-1', 'R-1', 'ReferralRequested', 'kv-mayen-koblenz', 'Referral to migration counselling requested (andernach, AGE_GROUP_ADULT)'],
  ['e-2', 'R-1', 'ReferralRouted', 'lotsenhaus', 'Routed to Caritas (cooperation agreement)'],
  ['e-3', 'R-2', 'ReferralRequested', 'caritas-koblenz', 'Transfer to competence assessment requested by Caritas (andernach, AGE_GROUP_ADULT)'],
  ['e-4', 'R-3', 'ReferralRequested', 'kv-mayen-koblenz', 'Referral requested under a consent already withdrawn; not routed'],
] as const;
const names = (id: string) => ({ 'caritas-koblenz': 'Caritas' })[id] ?? id;

beforeAll(async () => {
  database = await createTestDatabase('lotse_timeline_facts_test');
  hub = await openDatabase<HubDb>({ url: database.url, dataDir: 'unused' });
  await migrateToLatest(hub.db, before);
  const referral = (id: string, referrer: string, senderType: string, consent: string, municipality: string, type: number, purpose: number) =>
    sql`insert into hub_referral (referral_id, case_ref, referrer_agency_id, status, purpose, consent_id, consented_recipients, municipality, age_group, requested_at, updated_at, type, sender_type)
        values (${id}, 'C-1', ${referrer}, 2, ${purpose}, ${consent}, '{}', ${municipality}, ${municipality ? 3 : 0}, now(), now(), ${type}, ${senderType})`.execute(hub.db);
  await referral('R-1', 'kv-mayen-koblenz', 'foreign-office', 'K-1', 'andernach', 1, 1);
  await referral('R-2', 'caritas-koblenz', 'migration-services', 'K-2', 'andernach', 2, 3);
  await referral('R-3', 'kv-mayen-koblenz', 'foreign-office', 'K-3', '', 1, 1);
  for (const [eventId, referralId, eventType, agencyId, summary] of legacy) {
    await sql`insert into timeline_entry (event_id, case_ref, referral_id, event_type, agency_id, occurred_at, trace_id, summary)
              values (${eventId}, 'C-1', ${referralId}, ${eventType}, ${agencyId}, now(), '', ${summary})`.execute(hub.db);
  }
  await migrateToLatest(hub.db, hubMigrations);
});

afterAll(async () => {
  await hub?.close();
  if (database) await dropWhenIdle(database);
});

const read = async () => {
  const rows = await hub.db.selectFrom('timeline_entry').selectAll().orderBy('seq').execute();
  return { rows, texts: await timelineTexts(hub.db, rows, names) };
};

describe('timeline steps recorded as text before facts', () => {
  it('read as before; the requests are facts now, without the routing facts in stored text', async () => {
    const { rows, texts } = await read();
    expect(legacy.map(([eventId]) => texts.get(eventId))).toEqual(legacy.map(([, , , , summary]) => summary));
    expect(rows.map((r) => [r.event_id, r.kind, r.summary !== ''])).toEqual([
      ['e-1', 'requested', false],
      ['e-2', '', true],
      ['e-3', 'requested', false],
      ['e-4', 'closed-on-arrival', false],
    ]);
    expect(rows.find((r) => r.event_id === 'e-3')!.facts).toEqual({ referralType: 2, purpose: 3, by: 'caritas-koblenz' });
  });

  it('a request reads as erased once its consent is withdrawn and the routing facts erased; no stored text is rewritten', async () => {
    await hub.db.insertInto('consent_withdrawal').values({ consent_id: 'K-1', case_ref: 'C-1', owner_agency_id: 'kv-mayen-koblenz', received_by_agency_id: 'kv-mayen-koblenz', withdrawn_at: new Date() }).execute();
    await hub.db.updateTable('hub_referral').set({ municipality: '', age_group: 0 }).where('consent_id', '=', 'K-1').execute();
    const { texts } = await read();
    expect(texts.get('e-1')).toBe(requestedSummaryAfterErasure);
    expect(texts.get('e-3')).toBe(legacy[2][4]);
  });
});
