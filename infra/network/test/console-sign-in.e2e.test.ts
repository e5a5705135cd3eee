// End to end, in the browser: the network started with people signing in (LOTSE_SIGN_IN=1), so
// the console sends a browser to the launcher's OpenID issuer. In Debian's Chromium the demo
// `operator` signs in on the issuer's real login page, sees who is signed in, replays and discards
// parked messages at the hub — whose own audit names the operator's staff id — and signs out; the
// demo `auditor` may look but is refused (403) and changes nothing; without a session, or with a
// forged one, the API answers 401 and pages lead to the login page. Screenshots go to
// test-artifacts/console-sign-in/.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { common, events, lotsenhaus as hub, operator } from '@lotse/contracts';
import { repoRoot } from '../src/paths.js';
import { startNetworkOnPostgres, waitFor, type NetworkOnPostgres, type RunningNetwork } from '../src/network-process.js';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';
import { DEMO_PASSWORD, demoStaff } from '../src/sign-in.js';
import { eventBytes, publishRaw } from './support/parked-messages.js';

const { Purpose, AgeGroup } = common;
const artifacts = join(repoRoot, 'test-artifacts', 'console-sign-in');
const chromiumPath = '/usr/bin/chromium';
const staff = demoStaff(demoDeployments(0), consoleDeployment(0));
const operatorSub = staff.find((s) => s.username === 'operator')!.sub;
const auditorSub = staff.find((s) => s.username === 'auditor')!.sub;

let setup: NetworkOnPostgres;
let network: RunningNetwork;
let browser: Browser | undefined;
let consoleUrl: string;
let issuerUrl: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install chromium (.ci/run does this)`);
  mkdirSync(artifacts, { recursive: true });
  setup = await startNetworkOnPostgres({ LOTSE_SIGN_IN: '1', LOTSE_DEMO_DATA: '0' });
  ({ network } = setup);
  const file = network.network() as unknown as { console: { url: string }; signIn: { issuer: string } };
  consoleUrl = file.console.url;
  issuerUrl = file.signIn.issuer;
  expect(network.output).toContain('sign in there as operator (may replay and discard) or auditor (may look)');
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await setup?.remove();
}, 60_000);

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser!.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { context, page };
}

/** Opens the console and signs in on the issuer's page it leads to. */
async function signIn(page: Page, username: string): Promise<void> {
  await page.goto(consoleUrl);
  expect(page.url().startsWith(`${issuerUrl}/`)).toBe(true);
  await page.getByLabel('Benutzername / Username').fill(username);
  await page.getByLabel('Passwort / Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Anmelden / Sign in' }).click();
  await page.locator('#who').waitFor({ timeout: 20_000 });
  expect(page.url().startsWith(consoleUrl)).toBe(true);
}

async function hubAudit(): Promise<{ action: string; operator_agency_id: string; operator_name: string; operator_sub: string | null; operator_roles: string[] | null }[]> {
  const client = new pg.Client({ connectionString: setup.databaseUrl('lotsenhaus') });
  await client.connect();
  try {
    return (await client.query('select action, operator_agency_id, operator_name, operator_sub, operator_roles from operator_action order by id')).rows;
  } finally {
    await client.end();
  }
}

const parkedAtHub = () => network.client<operator.OperatorServiceClient>(operator.OperatorServiceClient, 'lotsenhaus', 'console').listParkedMessages({ includeResolved: true });

describe('the operator console with sign-in', () => {
  it('without a session: the API answers 401, a page leads to the issuer’s login page, a forged session id is refused', async () => {
    const { context, page } = await newPage();
    try {
      expect((await context.request.get(`${consoleUrl}/api/dead-letters`)).status()).toBe(401);
      expect((await context.request.post(`${consoleUrl}/api/dead-letters/lotsenhaus/1/replay`, { data: {} })).status()).toBe(401);
      await page.goto(`${consoleUrl}/#/dead-letters`);
      expect(page.url().startsWith(`${issuerUrl}/`)).toBe(true);
      await page.getByLabel('Passwort / Password').waitFor();
      await page.screenshot({ path: join(artifacts, '01-login-page.png'), fullPage: true });

      await context.addCookies([{ name: 'lotse_session', value: randomUUID().replace(/-/g, '') + 'forgedforgedx', url: consoleUrl }]);
      expect((await context.request.get(`${consoleUrl}/api/me`)).status()).toBe(401);
      await page.goto(consoleUrl);
      expect(page.url().startsWith(`${issuerUrl}/`)).toBe(true);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('signs the operator in, who replays and discards; the hub audits the operator’s staff id; sign-out ends it', async () => {
    // Three messages the hub parks: two that are not envelopes, and a provider's acceptance of a
    // referral the hub does not know yet.
    const early = { referralId: randomUUID(), caseRef: `C-SGN${randomUUID().slice(0, 6).toUpperCase()}` };
    await publishRaw(network, 'lotse.kv-mayen-koblenz.referral-requested', new TextEncoder().encode('garbage one \u00ff'));
    await publishRaw(network, 'lotse.kv-mayen-koblenz.referral-requested', new TextEncoder().encode('garbage two \u00ff'));
    await publishRaw(
      network,
      'lotse.caritas-koblenz.referral-accepted',
      eventBytes('caritas-koblenz', 'ReferralAccepted', early.caseRef, events.ReferralAccepted.encode(events.ReferralAccepted.fromPartial({ referralId: early.referralId, caseRef: early.caseRef, providerId: 'caritas-koblenz', acceptedAt: new Date() })).finish()),
    );
    await waitFor(async () => (await parkedAtHub()).messages.length >= 3, 40_000, 'three parked messages at the hub');
    // The cause of the acceptance's failure goes away: its referral reaches the hub.
    await publishRaw(
      network,
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
    const hubClient = network.client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, 'lotsenhaus', 'kv-mayen-koblenz');
    await waitFor(async () => (await hubClient.getCaseTimeline({ caseRef: early.caseRef })).caseSummary?.currentAgencyId === 'caritas-koblenz', 20_000, 'the early referral routed');

    const { context, page } = await newPage();
    try {
      await signIn(page, 'operator');
      await expect.poll(() => page.locator('#who-name').textContent()).toBe('operator');
      expect(await page.locator('#who-roles').textContent()).toBe('(operator)');
      expect(await page.locator('#who-name').getAttribute('title')).toContain(operatorSub);
      const [session] = (await context.cookies(consoleUrl)).filter((c) => c.name === 'lotse_session');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });

      await page.getByRole('link', { name: /Dead letters/ }).click();
      const rows = page.locator('tr[data-key^="lotsenhaus/"]');
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
      await page.locator('tr[data-key^="lotsenhaus/"]', { hasText: 'ReferralAccepted' }).click();
      await page.locator('#payload').getByText(early.referralId).waitFor();
      await page.screenshot({ path: join(artifacts, '02-signed-in-dead-letter.png'), fullPage: true });

      // Signed in, nobody types a name: the console sends the person's own token.
      await page.getByRole('button', { name: 'Replay' }).click();
      expect(await page.locator('#operator-field').isHidden()).toBe(true);
      await page.locator('#dialog-ok').click();
      await page.locator('#action-result').getByText('Replayed.').waitFor({ timeout: 20_000 });

      await page.locator('tr[data-key^="lotsenhaus/"]', { hasText: 'malformed' }).first().click();
      await page.getByText('not a Lotse envelope').waitFor();
      await page.getByRole('button', { name: 'Discard…' }).click();
      await page.getByLabel('Reason').fill('not an event: test garbage');
      await page.locator('#dialog-ok').click();
      await page.locator('#action-result').getByText('Discarded.').waitFor({ timeout: 20_000 });
      await page.locator('#actions').getByText(operatorSub).first().waitFor();
      await page.screenshot({ path: join(artifacts, '03-replayed-and-discarded.png'), fullPage: true });

      // The hub's own audit trail: the console's certificate, and the person its token names.
      expect(await hubAudit()).toEqual([
        { action: 'replay', operator_agency_id: 'console', operator_name: operatorSub, operator_sub: operatorSub, operator_roles: ['operator'] },
        { action: 'discard', operator_agency_id: 'console', operator_name: operatorSub, operator_sub: operatorSub, operator_roles: ['operator'] },
      ]);
      const { messages } = await parkedAtHub();
      expect(messages.find((m) => m.eventType === 'ReferralAccepted')?.replayedAt).toBeDefined();
      expect(messages.filter((m) => !m.replayedAt && !m.discardedAt)).toHaveLength(1);

      // Signing out ends the console's session and, once confirmed, the issuer's.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Abmelden / Sign out' }).click();
      await page.getByText('You are signed out of the Lotse console.').waitFor({ timeout: 10_000 });
      expect((await context.request.get(`${consoleUrl}/api/me`)).status()).toBe(401);
      const reuse = await browser!.newContext();
      try {
        await reuse.addCookies([{ ...session!, sameSite: 'Lax' }]);
        expect((await reuse.request.get(`${consoleUrl}/api/me`)).status()).toBe(401);
      } finally {
        await reuse.close();
      }
      await page.goto(consoleUrl);
      await page.getByLabel('Passwort / Password').waitFor(); // asked again: the issuer's session ended too
    } finally {
      await context.close();
    }
  }, 150_000);

  it('lets the auditor look but not act: 403, and nothing changes at the hub', async () => {
    const auditBefore = await hubAudit();
    const open = (await parkedAtHub()).messages.find((m) => !m.replayedAt && !m.discardedAt)!;
    const { context, page } = await newPage();
    try {
      await signIn(page, 'auditor');
      await expect.poll(() => page.locator('#who-roles').textContent()).toBe('(auditor)');
      await page.getByRole('link', { name: /Dead letters/ }).click();
      await page.locator(`tr[data-key="lotsenhaus/${open.parkedId}"]`).click();
      expect(await page.getByRole('button', { name: 'Replay' }).isDisabled()).toBe(true);
      await page.screenshot({ path: join(artifacts, '04-auditor.png'), fullPage: true });

      // The page would not let them; the API refuses them all the same.
      for (const [action, data] of [
        ['replay', {}],
        ['discard', { reason: 'auditor tries' }],
      ] as const) {
        const refused = await context.request.post(`${consoleUrl}/api/dead-letters/lotsenhaus/${open.parkedId}/${action}`, { data });
        expect(refused.status()).toBe(403);
        expect(((await refused.json()) as { message: string }).message).toContain('need the operator role; you are signed in with auditor');
      }
      expect(await hubAudit()).toEqual(auditBefore);
      const still = (await parkedAtHub()).messages.find((m) => m.parkedId === open.parkedId)!;
      expect(still.replayedAt).toBeUndefined();
      expect(still.discardedAt).toBeUndefined();
      expect(auditBefore.some((a) => a.operator_sub === auditorSub)).toBe(false);
    } finally {
      await context.close();
    }
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
