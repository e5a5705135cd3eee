// End to end: a newcomer withdraws consent in the middle of a running journey — at the provider,
// with one call — and within seconds the hub lists every recipient's erasure as confirmed. Then
// every agency's database is queried directly: nothing received under the consent remains.
// The network starts as the README says (`pnpm start`), on the real PostgreSQL (one database
// per deployment) and a real nats-server, on ports of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { common, foreignOffice as fo, lotsenhaus as hub, migrationServices as ms } from '@lotse/contracts';
import { retrying, waitFor, type RunningNetwork, startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';

const { ReferralStatus: S, Purpose, DataCategory } = common;
const providers = ['caritas-koblenz', 'caritas-rhein-mosel-ahr', 'awo-rheinland'];

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let home: string;

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  ({ network, home } = setup);
}, 300_000);

afterAll(async () => {
  await setup?.remove();
}, 60_000);

const foClient = () => network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
const hubClient = () => network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
const providerClient = (id: string) => network.client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, id);

/** Runs queries on one deployment's own database, as an auditor with database access would. */
async function inDatabase<T>(deployment: string, run: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: setup.databaseUrl(deployment) });
  await db.connect();
  try {
    return await run(db);
  } finally {
    await db.end();
  }
}

/** Every table and column of a database (text, arrays, JSON, bytes) that holds one of the strings. */
async function findAnywhere(deployment: string, needles: string[]): Promise<string[]> {
  return inDatabase(deployment, async (db) => {
    const { rows: columns } = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'public' and data_type in ('text', 'bytea', 'jsonb', 'json', 'ARRAY', 'character varying')`,
    );
    const hits: string[] = [];
    for (const c of columns) {
      const column = `"${c.column_name}"`;
      const bytes = c.data_type === 'bytea' ? column : `convert_to(${column}::text, 'UTF8')`;
      for (const needle of needles) {
        const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from "${c.table_name}" where position(convert_to($1, 'UTF8') in ${bytes}) > 0`, [needle]);
        if (rows[0]!.n > 0) hits.push(`${c.table_name}.${c.column_name} holds "${needle}" (${rows[0]!.n} rows)`);
      }
    }
    return hits;
  });
}

describe('consent withdrawn in the middle of a running journey', () => {
  it('reaches every recipient: all erase and confirm at the hub within seconds; nothing received under the consent remains', async () => {
    const client = foClient();
    const unique = `Withdrawn${Math.random().toString(36).slice(2, 8)}`;
    const key = Math.random().toString(36).slice(2, 10); // request ids: not the name, which the scans look for
    const person = { givenNames: 'Олена', familyName: unique, birthDate: '1983-07-19' };
    const { newcomer } = await retrying(() =>
      client.registerNewcomer({
        requestId: `wd-reg-${key}`,
        ...person,
        nationality: 'UA',
        languages: ['uk', 'ru'],
        municipality: 'mayen',
        residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION,
      }),
    );
    const { text, direction } = await client.getConsentText({ language: 'uk', textVersion: '' });
    expect(text).toContain('відкликати');
    expect(direction).toBe(fo.TextDirection.TEXT_DIRECTION_LTR);
    const { consent } = await client.recordConsent({
      requestId: `wd-consent-${key}`,
      newcomerId: newcomer!.newcomerId,
      recipients: ['migration-services'],
      purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
      dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_NATIONALITY],
      textVersion: 'mbe-einwilligung-2026-01',
      language: 'uk',
      interpreterUsed: false,
      expiresAt: undefined,
    });
    const caseRef = newcomer!.caseRef;
    const consentId = consent!.consentId;

    // The journey: referral → routed → accepted → the provider fetches the consented data.
    const { referral } = await client.requestReferral({ requestId: `wd-ref-${key}`, newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' });
    const entries = async () => (await hubClient().getCaseTimeline({ caseRef })).entries;
    await waitFor(async () => (await entries()).some((e) => e.eventType === 'ReferralReceived'), 15_000, 'the provider to receive the referral');
    const providerId = (await entries()).find((e) => e.eventType === 'ReferralReceived')!.agencyId;
    expect(providerId).toBe('caritas-rhein-mosel-ahr');
    const provider = providerClient(providerId);
    await provider.acceptReferral({ requestId: `wd-accept-${key}`, referralId: referral!.referralId });
    const { newcomer: data } = await provider.fetchNewcomerData({ requestId: `wd-fetch-${key}`, referralId: referral!.referralId });
    expect(data).toMatchObject({ givenNames: 'Олена', familyName: unique, nationality: 'UA' });
    expect((await findAnywhere(providerId, [unique])).length).toBeGreaterThan(0); // the scan sees what is there

    // The newcomer withdraws at the provider: one call.
    const started = performance.now();
    const answer = await provider.withdrawConsent({ requestId: `wd-${key}`, referralId: referral!.referralId, reason: '' });
    const answeredMs = performance.now() - started;
    expect(answer).toMatchObject({ consentId, ownerAgencyId: 'kv-mayen-koblenz', referral: { status: ms.InboxStatus.INBOX_STATUS_WITHDRAWN } });

    // Within seconds the hub lists every recipient's erasure as confirmed.
    const erasures = async () => (await hubClient().listErasures({ status: 0, caseRef, pageSize: 0, pageToken: '' })).erasures;
    await waitFor(async () => {
      const list = await erasures();
      return list.some((e) => e.recipientAgencyId === providerId) && list.every((e) => e.status === hub.ErasureStatus.ERASURE_STATUS_CONFIRMED);
    }, 10_000, "every recipient's confirmation at the hub");
    const confirmedMs = performance.now() - started;
    console.info(`withdrawal at ${providerId}: answered in ${answeredMs.toFixed(0)} ms; every erasure confirmed at the hub after ${confirmedMs.toFixed(0)} ms`);
    expect(confirmedMs).toBeLessThan(5_000);
    const list = await erasures();
    expect(list.map((e) => e.recipientAgencyId).sort()).toEqual(['lotsenhaus', providerId].sort());
    expect(list.find((e) => e.recipientAgencyId === providerId)).toMatchObject({
      consentId,
      withdrawalReceivedBy: providerId,
      erasedCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_NATIONALITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_AGE_GROUP],
      retained: [],
    });
    expect((await hubClient().listErasures({ status: hub.ErasureStatus.ERASURE_STATUS_OPEN, caseRef, pageSize: 0, pageToken: '' })).erasures).toEqual([]);
    const timeline = await hubClient().getCaseTimeline({ caseRef });
    expect(timeline.entries.map((e) => e.eventType)).toEqual(expect.arrayContaining(['ConsentWithdrawn', 'ErasureConfirmed']));
    expect(timeline.caseSummary).toMatchObject({ status: S.REFERRAL_STATUS_WITHDRAWN, municipality: '', ageGroup: 0 });

    // After the withdrawal nothing more leaves the owner.
    expect((await provider.fetchNewcomerData({ requestId: `wd-fetch-again-${key}`, referralId: referral!.referralId }).catch((e) => e)).code).toBe(7);
    const asProvider = network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz', providerId);
    expect((await asProvider.discloseNewcomerData({ caseRef, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [], referralId: '' }).catch((e) => e)).code).toBe(7);

    // --- every agency's database, queried directly ---------------------------------------------
    // The provider: no newcomer data under the consent, no routing fact, not in any table at all.
    await inDatabase(providerId, async (db) => {
      expect((await db.query('select * from newcomer_record where consent_id = $1 or referral_id = $2', [consentId, referral!.referralId])).rows).toEqual([]);
      const inbox = (await db.query('select status, age_group from received_referral where referral_id = $1', [referral!.referralId])).rows;
      expect(inbox).toEqual([{ status: ms.InboxStatus.INBOX_STATUS_WITHDRAWN, age_group: 0 }]);
      const stored = (await db.query<{ response: Buffer }>("select response from idempotency where method = 'AcceptReferral'")).rows.map((r) => ms.AcceptReferralResponse.decode(r.response).referral!);
      expect(stored.find((r) => r.referralId === referral!.referralId)!.ageGroup).toBe(0);
      const erasure = (await db.query('select erased_categories, retained, withdrawal_taken_here, confirmed_at from erasure where consent_id = $1', [consentId])).rows[0];
      expect(erasure).toMatchObject({ retained: [], withdrawal_taken_here: true });
      expect(erasure.confirmed_at).not.toBeNull();
    });
    expect(await findAnywhere(providerId, [unique, person.birthDate])).toEqual([]);
    // The other providers never received anything.
    for (const other of providers.filter((p) => p !== providerId)) expect(await findAnywhere(other, [unique, person.birthDate])).toEqual([]);

    // The hub: only pseudonymous rows — the routing facts are erased from every table that had them.
    await inDatabase('lotsenhaus', async (db) => {
      expect((await db.query('select municipality, age_group, status from hub_referral where consent_id = $1', [consentId])).rows).toEqual([
        { municipality: '', age_group: 0, status: S.REFERRAL_STATUS_WITHDRAWN },
      ]);
      expect((await db.query('select municipality, age_group from case_index where case_ref = $1', [caseRef])).rows).toEqual([{ municipality: '', age_group: 0 }]);
      const summaries = (await db.query<{ summary: string }>('select summary from timeline_entry where case_ref = $1', [caseRef])).rows.map((r) => r.summary);
      expect(summaries.filter((s) => /\(mayen, |AGE_GROUP_/.test(s))).toEqual([]);
      expect((await db.query('select count(*)::int as n from erasure_request where consent_id = $1 and confirmed_at is null', [consentId])).rows[0].n).toBe(0);
    });
    expect(await findAnywhere('lotsenhaus', [unique, person.birthDate, 'Олена'])).toEqual([]);

    // The owner keeps its register (§ 86 AufenthG) and the record of the withdrawal; the one
    // disclosure it granted came before the withdrawal.
    await inDatabase('kv-mayen-koblenz', async (db) => {
      const withdrawal = (await db.query('select received_by_agency_id, recipients_known, access_log_position from consent_withdrawal where consent_id = $1', [consentId])).rows[0];
      expect(withdrawal).toMatchObject({ received_by_agency_id: providerId, recipients_known: [providerId] });
      const log = (await db.query<{ id: number; outcome: string }>('select id::int, outcome from data_access_log where case_ref = $1 order by id', [caseRef])).rows;
      expect(log.filter((r) => r.outcome === 'granted')).toHaveLength(1);
      expect(log.filter((r) => r.outcome === 'granted' && r.id > Number(withdrawal.access_log_position))).toEqual([]);
      expect((await db.query('select status from referral where referral_id = $1', [referral!.referralId])).rows).toEqual([{ status: S.REFERRAL_STATUS_WITHDRAWN }]);
    });
  }, 120_000);
});
