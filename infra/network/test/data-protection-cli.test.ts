import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foreignOffice } from '@lotse/contracts';
import { create as createForeignOffice } from '@lotse/foreign-office';
import { createClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDataProtectionCommand, runDataProtectionCli } from '../src/cli/data-protection-commands.js';

// `pnpm lotse audit-verify` and `pnpm lotse report` against a foreign office started in-process
// (real PostgreSQL and NATS), with the PDF printed by Debian's headless Chromium.

const natsUrl = 'nats://127.0.0.1:4222';
const foId = `fo-cli-${randomBytes(4).toString('hex')}`;
// A hub of its own, so the streams this suite touches on the shared NATS are its own to delete.
const hubId = `hub-cli-${randomBytes(4).toString('hex')}`;
const chromium = '/usr/bin/chromium';
const pdftotext = ['/usr/bin/pdftotext', '/usr/local/bin/pdftotext'].find((p) => existsSync(p));

let dir: string;
let pki: string;
const dbName = `lotse_dp_cli_${randomBytes(5).toString('hex')}`;
const serverUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
let query: pg.Pool;
/** As a superuser who switches the append-only trigger off. */
async function tamper(...statements: string[]): Promise<void> {
  const client = await query.connect();
  try {
    await client.query('begin');
    await client.query('alter table audit_log disable trigger user');
    for (const statement of statements) await client.query(statement);
    await client.query('alter table audit_log enable trigger user');
    await client.query('commit');
  } finally {
    client.release();
  }
}
async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
let service: ReturnType<typeof createForeignOffice>;
let address: string;
let newcomerId: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDataProtectionCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lotse-dp-cli-'));
  pki = join(dir, 'pki');
  await ensureDevPki(pki, [{ id: foId, agencyType: 'foreign-office' }]);
  await admin(`create database "${dbName}"`);
  const url = serverUrl.replace(/\/postgres$/, `/${dbName}`);
  service = createForeignOffice(
    {
      agencyId: foId,
      agencyType: 'foreign-office',
      grpc: { host: '127.0.0.1', port: 0 },
      database: { url, dataDir: 'unused' },
      natsUrl,
      pkiDir: pki,
      logLevel: 'silent',
      hubAgencyId: hubId,
      retention: { intervalMs: 0, policyFile: join(import.meta.dirname, '../../../policy/retention.json') },
    },
    { logger: createLogger(foId, { level: 'silent' }) },
  );
  address = `127.0.0.1:${(await service.start()).grpcPort}`;
  query = new pg.Pool({ connectionString: url, max: 1 });
  const fo = createClient(foreignOffice.ForeignOfficeServiceClient, address, loadIdentity(pki, foId));
  try {
    const { newcomer } = await fo.registerNewcomer({
      requestId: 'cli-newcomer',
      givenNames: 'Олена',
      familyName: 'Коваленко',
      birthDate: '1985-07-02',
      nationality: 'UA',
      languages: ['uk', 'ru'],
      municipality: 'koblenz',
      residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION,
    });
    newcomerId = newcomer!.newcomerId;
  } finally {
    fo.close();
  }
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await query?.end();
  const nc = await connect({ servers: natsUrl, name: `${foId}-cleanup` });
  const jsm = await jetstreamManager(nc);
  for (const id of [foId, hubId]) await jsm.streams.delete(`LOTSE_${id.toUpperCase().replace(/-/g, '_')}`).catch(() => undefined);
  await nc.close();
  await new Promise((r) => setTimeout(r, 200));
  await admin(`drop database if exists "${dbName}" with (force)`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pnpm lotse report', () => {
  it.each([
    ['ar', 'rtl', 'معلومات عن بياناتك الشخصية'],
    ['uk', 'ltr', 'Інформація про ваші персональні дані'],
    ['de', 'ltr', 'Auskunft über Ihre personenbezogenen Daten'],
  ])('writes the report in %s as HTML and PDF', async (lang, dir_, heading) => {
    const out = join(dir, `report-${lang}`);
    const result = await cli('report', newcomerId, '--lang', lang, '--out', out, '--at', address, '--as', foId, '--pki', pki, '--chromium', chromium, '--caseworker', 'cw-cli');
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toContain(`${out}.html`);
    expect(result.out).toContain(`${out}.pdf`);
    const html = await readFile(`${out}.html`, 'utf8');
    expect(html).toContain(`<html lang="${lang}" dir="${dir_}">`);
    expect(html).toContain(`<h1>${heading}</h1>`);
    const pdf = await readFile(`${out}.pdf`);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect((await stat(`${out}.pdf`)).size).toBeGreaterThan(5_000);
    if (pdftotext) {
      // The text layer holds the heading (RTL text may come out in visual order, so Arabic is checked by a word).
      const text = execFileSync(pdftotext, ['-enc', 'UTF-8', `${out}.pdf`, '-']).toString('utf8');
      if (lang === 'ar') expect(text).toMatch(/الشخصية|بياناتك/);
      else expect(text.replace(/\s+/g, ' ')).toContain(heading);
    }
  }, 120_000);

  it('bad input: an unknown language names the field and writes no file', async () => {
    const out = join(dir, 'report-xx');
    const result = await cli('report', newcomerId, '--lang', 'xx', '--out', out, '--at', address, '--as', foId, '--pki', pki);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^ERROR INVALID_ARGUMENT: .*\n {2}language: must be one of/);
    expect(existsSync(`${out}.html`)).toBe(false);
    const unknown = await cli('report', '0199aaaa-0000-7000-8000-000000000000', '--at', address, '--as', foId, '--pki', pki, '--no-pdf');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^ERROR NOT_FOUND: newcomer_id/);
  });
});

describe('pnpm lotse audit-verify', () => {
  it('prints OK with the head, and the first broken link after a row was altered (exit 1)', async () => {
    expect(isDataProtectionCommand(['audit-verify', 'x'])).toBe(true);
    expect(isDataProtectionCommand(['call', 'x'])).toBe(false);
    const ok = await cli('audit-verify', address, '--as', foId, '--pki', pki);
    expect(ok.code).toBe(0);
    const head = /OK (\S+): (\d+) rows, head (\d+:[0-9a-f]{64})/.exec(ok.out);
    expect(head?.[1]).toBe(foId);
    // The reports above are on record: registration plus one read per report.
    expect(Number(head![2])).toBeGreaterThanOrEqual(4);

    await tamper(`update audit_log set actor_agency_id = 'someone-else' where seq = 2`);
    const broken = await cli('audit-verify', address, '--as', foId, '--pki', pki);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(new RegExp(`^BROKEN ${foId}: first broken link at row 2: .*altered`));

    // Cut off at the end and put back in the middle: only the recorded head reveals the missing tail.
    await tamper(`update audit_log set actor_agency_id = '${foId}' where seq = 2`, 'delete from audit_log where seq = (select max(seq) from audit_log)');
    expect((await cli('audit-verify', address, '--as', foId, '--pki', pki)).code).toBe(0);
    const cut = await cli('audit-verify', address, '--as', foId, '--pki', pki, '--known-head', head![3]!);
    expect(cut.code).toBe(1);
    expect(cut.out).toMatch(/cut off/);

    const usage = await cli('audit-verify');
    expect(usage.code).toBe(2);
  });
});
