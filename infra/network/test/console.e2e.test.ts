// End to end, in the browser: the network started as the README does, a referral made over gRPC,
// two messages parked at the hub — then an operator who has never seen Lotse uses the console in
// Debian's Chromium (playwright-core, never a downloaded browser): finds the case, sees which
// agency it waits on, opens a step's trace with every service it touched, and replays a parked
// message. Screenshots go to test-artifacts/console/.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { common, events, foreignOffice as fo, lotsenhaus as hub, migrationServices as ms, operator } from '@lotse/contracts';
import { repoRoot } from '../src/paths.js';
import { retrying, startNetworkOnPostgres, traced, waitFor, type NetworkOnPostgres, type RunningNetwork } from '../src/network-process.js';
import { eventBytes, publishRaw as publishRawAt } from './support/parked-messages.js';

const { Purpose, DataCategory, AgeGroup, ReferralStatus: S } = common;
const artifacts = join(repoRoot, 'test-artifacts', 'console');
const chromiumPath = '/usr/bin/chromium';

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let home: string;
let browser: Browser | undefined;
let page: Page;
let consoleUrl: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install chromium (.ci/run does this)`);
  mkdirSync(artifacts, { recursive: true });
  // Every SQL statement traced, so the search for personal data also covers what statements carry.
  // The console with its operator token (no issuer); console-sign-in.e2e.test.ts signs people in.
  setup = await startNetworkOnPostgres({ LOTSE_SIGN_IN: '0', LOTSE_DEMO_DATA: '0', LOTSE_TRACE_SQL: 'all' });
  ({ network, home } = setup);
  consoleUrl = (network.network() as unknown as { console: { url: string } }).console.url;
  // The console listens 30 above the port base, as the launcher's banner says.
  expect(consoleUrl).toBe(`http://127.0.0.1:${Number(network.deployment('kv-mayen-koblenz').grpc.split(':')[1]) - 1 + 30}`);
  expect(network.output).toContain(`Operator console: ${consoleUrl}`);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await setup?.remove();
}, 60_000);

const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

const publishRaw = (subject: string, data: Uint8Array) => publishRawAt(network, subject, data);

describe('the operator console', () => {
  it('finds a case, opens a step’s trace across services, and replays a parked message', async () => {
    // A consented referral, made the way a caseworker's software would.
    const foClient = network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
    const hubClient = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    const { newcomer } = await retrying(() =>
      foClient.registerNewcomer({ requestId: 'console-reg', givenNames: 'Amina', familyName: 'Haddad', birthDate: '1988-05-17', nationality: 'SY', languages: ['ar'], municipality: 'mayen', residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE }),
    );
    await foClient.recordConsent({ requestId: 'console-consent', newcomerId: newcomer!.newcomerId, recipients: ['migration-services'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING], dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY], textVersion: 'mbe-einwilligung-2026-01', language: 'ar', interpreterUsed: false, expiresAt: undefined } as fo.RecordConsentRequest);
    const request = traced();
    await foClient.requestReferral({ requestId: 'console-referral', newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: '' } as fo.RequestReferralRequest, { metadata: request.metadata });
    const caseRef = newcomer!.caseRef;
    await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef })).entries.some((e) => e.eventType === 'ReferralReceived'), 20_000, 'the referral to reach the provider');
    const waitsOn = (await hubClient.getCaseTimeline({ caseRef })).caseSummary!.currentAgencyId;
    expect(waitsOn).toBe('caritas-rhein-mosel-ahr');

    // Two messages the hub cannot process: one that is not an envelope at all, and a provider's
    // acceptance of a referral the hub does not know yet. Both are parked after 5 deliveries.
    const early = { referralId: randomUUID(), caseRef: `C-E2E${randomUUID().slice(0, 6).toUpperCase()}` };
    await publishRaw('lotse.kv-mayen-koblenz.referral-requested', new TextEncoder().encode('garbage, not protobuf \u00ff'));
    await publishRaw(
      'lotse.caritas-koblenz.referral-accepted',
      eventBytes('caritas-koblenz', 'ReferralAccepted', early.caseRef, events.ReferralAccepted.encode(events.ReferralAccepted.fromPartial({ referralId: early.referralId, caseRef: early.caseRef, providerId: 'caritas-koblenz', acceptedAt: new Date() })).finish()),
    );
    // Waiting through the console's own API keeps the test's calls out of the map.
    await waitFor(async () => ((await (await fetch(`${consoleUrl}/api/dead-letters`)).json()) as { messages: unknown[] }).messages.length >= 2, 40_000, 'two parked messages at the hub');

    // The cause goes away: the referral the acceptance is about reaches the hub.
    await publishRaw(
      'lotse.kv-mayen-koblenz.referral-requested',
      eventBytes(
        'kv-mayen-koblenz',
        'ReferralRequested',
        early.caseRef,
        events.ReferralRequested.encode(
          events.ReferralRequested.fromPartial({ referralId: early.referralId, caseRef: early.caseRef, referrerAgencyId: 'kv-mayen-koblenz', purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: randomUUID(), consentedRecipients: ['migration-services'], municipality: 'koblenz', ageGroup: AgeGroup.AGE_GROUP_ADULT, preferredProviderId: 'caritas-koblenz', requestedAt: new Date() }),
        ).finish(),
      ),
    );
    await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef: early.caseRef })).caseSummary!.currentAgencyId === 'caritas-koblenz', 20_000, 'the early referral routed');

    // --- in the browser -------------------------------------------------------------------------
    await page.goto(consoleUrl);
    await page.locator('.map svg').waitFor();
    await page.locator('#flows').getByText('kv-mayen-koblenz → lotsenhaus').first().waitFor({ timeout: 20_000 });
    await page.locator('.live.on').waitFor();
    await shot('01-network-map');

    // Find the case by its reference.
    await page.getByRole('link', { name: 'Cases' }).click();
    await page.getByLabel('Case reference').fill(caseRef);
    await page.getByRole('button', { name: 'Open case' }).click();
    await expect.poll(() => page.locator('#waits-on').textContent(), { timeout: 10_000 }).toBe(waitsOn);
    await expect.poll(() => page.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(3);
    await shot('02-case');

    // Open the trace of the first step: one trace from the foreign office through the hub to the provider.
    await page.locator('ol.timeline li').first().getByRole('link', { name: /Open the trace/ }).click();
    expect(page.url()).toContain(request.traceId);
    const legend = page.locator('#services');
    for (const service of ['kv-mayen-koblenz', 'lotsenhaus', waitsOn]) {
      await legend.locator(`[data-service="${service}"]`).waitFor({ timeout: 20_000 });
    }
    expect(await page.locator('.wf-row').count()).toBeGreaterThan(10);
    await page.locator('.wf-row', { hasText: 'consume lotse.kv-mayen-koblenz.referral-requested' }).first().click();
    await page.locator('#detail').getByText('messaging.destination.name').waitFor();
    await shot('03-trace-waterfall');

    // Dead letters: both parked messages, decoded where they can be.
    await page.getByRole('link', { name: /Dead letters/ }).click();
    const rows = page.locator('tr[data-key^="lotsenhaus/"]');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
    await page.locator('tr[data-key^="lotsenhaus/"]', { hasText: 'ReferralAccepted' }).click();
    await page.locator('#payload').getByText(early.referralId).waitFor();
    await shot('04-dead-letter');

    // Replay and discard are the operator's: without the console's token the API refuses them.
    const parked = ((await (await fetch(`${consoleUrl}/api/dead-letters`)).json()) as { messages: { deployment: string; parkedId: string }[] }).messages[0]!;
    const anonymous = await fetch(`${consoleUrl}/api/dead-letters/${parked.deployment}/${parked.parkedId}/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operator: 'intruder' }) });
    expect(anonymous.status).toBe(401);
    // The operator logs in once, in the browser, with the token `pnpm start` printed.
    const adminToken = readFileSync(join(home, 'console-admin-token'), 'utf8').trim();
    const prompts: string[] = [];
    page.on('dialog', (dialog) => {
      prompts.push(dialog.message());
      void dialog.accept(adminToken);
    });

    // Replay it: the referral is known now, so the hub applies the acceptance.
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByLabel(/Your name/).fill('Operator E2E');
    await page.locator('#dialog-ok').click();
    await page.locator('#action-result').getByText('Replayed.').waitFor({ timeout: 20_000 });
    expect(prompts).toHaveLength(1);
    await shot('05-replayed');

    // The garbage cannot be replayed; the console says why, and the operator discards it.
    await page.locator('tr[data-key^="lotsenhaus/"]', { hasText: 'malformed' }).click();
    await page.getByText('not a Lotse envelope').waitFor();
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.locator('#dialog-ok').click();
    await page.locator('#action-result').getByText('Replay failed').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Discard…' }).click();
    await page.getByLabel('Reason').fill('not an event: test garbage');
    await page.locator('#dialog-ok').click();
    await page.locator('#action-result').getByText('Discarded.').waitFor({ timeout: 20_000 });
    await page.locator('#actions').getByText('Operator E2E').first().waitFor();

    // What the deployment says: one replayed, one discarded, nothing open; the hub applied the replay.
    const operatorClient = network.client<operator.OperatorServiceClient>(operator.OperatorServiceClient, 'lotsenhaus', 'console');
    const { messages } = await operatorClient.listParkedMessages({ includeResolved: true });
    expect(messages.filter((m) => !m.replayedAt && !m.discardedAt)).toHaveLength(0);
    expect(messages.find((m) => m.eventType === 'ReferralAccepted')?.replayedAt).toBeDefined();
    const replayed = await hubClient.getCaseTimeline({ caseRef: early.caseRef });
    expect(replayed.caseSummary!.status).toBe(S.REFERRAL_STATUS_ACCEPTED);
    expect(replayed.entries.map((e) => e.eventType)).toContain('ReferralAccepted');
    expect(pageErrors).toEqual([]);
  }, 150_000);

  it('receives no personal data: names and birth dates appear in no exported span, log or metric, nor in any service log', async () => {
    // A journey in which the names really travel: registered, disclosed to the provider, read there.
    const person = { givenNames: 'Ярослава', familyName: 'حدادي-Körner', birthDate: '1979-12-03' };
    const foClient = network.client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, 'kv-mayen-koblenz');
    const hubClient = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    const { newcomer } = await foClient.registerNewcomer({ requestId: 'pd-reg', ...person, nationality: 'UA', languages: ['uk', 'ar'], municipality: 'koblenz', residenceStatus: fo.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION });
    await foClient.recordConsent({ requestId: 'pd-consent', newcomerId: newcomer!.newcomerId, recipients: ['caritas-koblenz'], purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING], dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES], textVersion: 'mbe-einwilligung-2026-01', language: 'uk', interpreterUsed: true, expiresAt: undefined } as fo.RecordConsentRequest);
    // A rejected call with the names in it: the error must not echo them into logs or spans.
    await expect(foClient.registerNewcomer({ requestId: 'pd-bad', ...person, birthDate: '2999-01-01', nationality: 'UA', languages: ['uk'], municipality: 'koblenz', residenceStatus: 1 })).rejects.toMatchObject({ code: 3 });
    const { referral } = await foClient.requestReferral({ requestId: 'pd-referral', newcomerId: newcomer!.newcomerId, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, consentId: '', preferredProviderId: 'caritas-koblenz' } as fo.RequestReferralRequest);
    await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef: newcomer!.caseRef })).entries.some((e) => e.eventType === 'ReferralReceived'), 20_000, 'the referral at the provider');
    const provider = network.client<ms.MigrationServicesServiceClient>(ms.MigrationServicesServiceClient, 'caritas-koblenz');
    await provider.acceptReferral({ requestId: 'pd-accept', referralId: referral!.referralId });
    const { newcomer: data } = await provider.fetchNewcomerData({ requestId: 'pd-fetch', referralId: referral!.referralId });
    expect(data!.familyName).toBe(person.familyName);
    await provider.getReferral({ referralId: referral!.referralId });

    // Everything the deployments exported is in the console's database once the exporters flushed.
    const consoleDb = new pg.Client({ connectionString: setup.databaseUrl('console') });
    await consoleDb.connect();
    try {
      await waitFor(async () => (await consoleDb.query('select count(*)::int as n from span where case_ref = $1', [newcomer!.caseRef])).rows[0].n > 0, 30_000, 'the journey’s spans at the console');
      await new Promise((r) => setTimeout(r, 7000)); // one more metrics and log export interval
      const needles = [person.givenNames, person.familyName, 'Körner', person.birthDate, 'Amina', 'Haddad', '1988-05-17'];
      const pattern = needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
      const stored: Record<string, number> = {};
      for (const table of ['span', 'log_record', 'metric_point']) {
        stored[table] = (await consoleDb.query(`select count(*)::int as n from ${table}`)).rows[0].n;
        const { rows } = await consoleDb.query(`select ${table}::text as row from ${table} where ${table}::text ~ $1 limit 3`, [pattern]);
        expect(rows, `personal data in ${table}`).toEqual([]);
      }
      expect(stored.span).toBeGreaterThan(100);
      expect(stored.log_record).toBeGreaterThan(10);
      expect(stored.metric_point).toBeGreaterThan(10);
    } finally {
      await consoleDb.end();
    }
    // … and in no line any service wrote to its own log.
    for (const d of network.network().deployments) {
      const log = readFileSync(d.log, 'utf8');
      for (const needle of [person.givenNames, person.familyName, person.birthDate]) expect(log.includes(needle), `${needle} in ${d.id}'s log`).toBe(false);
    }
  }, 120_000);
});
