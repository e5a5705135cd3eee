// `pnpm lotse directory export|import` against a hub started in-process with the Koblenz demo
// directory (real PostgreSQL and NATS).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as createHub, defaultDirectoryFile, loadDirectory, partnerDirectory } from '@lotse/lotsenhaus';
import { connectNats, streamName } from '@lotse/messaging';
import { ensureDevPki } from '@lotse/pki';
import { createTestDatabase, dropWhenIdle, natsUrl, randomId } from '@lotse/testing';
import type { TestDatabase } from '@lotse/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDirectoryCommand, runDirectoryCli } from '../src/cli/directory-commands.js';

const hubId = randomId('hub-dir-cli');
const partnerId = randomId('mbe-cli');
let dir: string;
let pki: string;
let database: TestDatabase;
let hub: ReturnType<typeof createHub>;
let address: string;

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runDirectoryCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lotse-dir-cli-'));
  pki = join(dir, 'pki');
  await ensureDevPki(pki, [
    { id: hubId, agencyType: 'lotsenhaus' },
    { id: partnerId, agencyType: 'migration-services' },
  ]);
  const region = loadDirectory(defaultDirectoryFile);
  const routing = join(dir, 'routing.json');
  await writeFile(routing, JSON.stringify({ region: region.region, municipalities: region.municipalities, referrers: [{ agencyId: randomId('fo'), name: 'Test-ABH', agencyType: 'foreign-office' }], providers: [] }));
  database = await createTestDatabase('lotse_dir_cli');
  hub = createHub({
    agencyId: hubId,
    agencyType: 'lotsenhaus',
    grpc: { host: '127.0.0.1', port: 0 },
    database: { url: database.url, dataDir: 'unused' },
    natsUrl,
    pkiDir: pki,
    logLevel: 'silent',
    directoryFile: routing,
    partnerDirectory: { seedFile: partnerDirectory.defaultDirectorySeedFile, staleMonths: 12, reminderIntervalMs: 0 },
  });
  address = `127.0.0.1:${(await hub.start()).grpcPort}`;
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  const nats = await connectNats({ servers: natsUrl, name: 'dir-cli-cleanup' });
  await nats.jsm.streams.delete(streamName(hubId)).catch(() => undefined);
  await nats.close();
  if (database) await dropWhenIdle(database);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pnpm lotse directory', () => {
  it('is recognised as its own command', () => {
    expect(isDirectoryCommand(['directory', 'export'])).toBe(true);
    expect(isDirectoryCommand(['call', 'lotsenhaus'])).toBe(false);
  });

  it('export --format hsds --out DIR writes the HSDS files', async () => {
    const out = join(dir, 'hsds');
    const result = await cli('directory', 'export', '--format', 'hsds', '--out', out, '--at', address, '--as', hubId, '--pki', pki);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const files = await readdir(out);
    expect(files).toEqual(expect.arrayContaining(['organizations.json', 'services.json', 'locations.json', 'service_at_locations.json', 'contacts.json', 'phones.json', 'schedules.json', 'languages.json', 'services_full.json', 'datapackage.json']));
    const orgs = JSON.parse(await readFile(join(out, 'organizations.json'), 'utf8'));
    expect(orgs.length).toBe(11);
    expect(result.out).toContain('organizations.json (11)');
  });

  it('import --file stores another directory’s services as the importing partner’s, and reports what it refused', async () => {
    const file = join(dir, 'other.json');
    await writeFile(
      file,
      JSON.stringify([
        {
          id: '5b1f0a52-2c43-4b6e-9d3a-0f2c1e4b5a69',
          name: 'Sprachcafé Andernach',
          description: 'Deutsch üben im Gespräch',
          status: 'active',
          organization: { id: 'a2b9c4d8-1e3f-4a5b-8c7d-6e5f4a3b2c1d', name: 'Verein Miteinander e. V.', description: 'Ehrenamtliche Begleitung' },
          languages: [{ id: '8a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d', code: 'de' }],
          service_areas: [{ id: '9b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e', name: 'Stadt Andernach' }],
          contacts: [{ id: 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f', title: 'Koordination', email: 'kontakt@miteinander.example' }],
        },
        { id: 'bad', name: 'Ohne Organisation', status: 'active' },
      ]),
    );
    const refused = await cli('directory', 'import', '--file', file, '--at', address, '--as', partnerId, '--pki', pki);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('services[1] (Ohne Organisation): needs organization or organization_id');
    const one = JSON.parse(await readFile(file, 'utf8')).slice(0, 1);
    await writeFile(file, JSON.stringify(one));
    const result = await cli('directory', 'import', '--file', file, '--at', address, '--as', partnerId, '--pki', pki);
    expect(result.err).toBe('');
    expect(result.out).toContain('OK organization Verein Miteinander e. V.');
    expect(result.out).toContain('OK offer Sprachcafé Andernach');
    expect(result.out).toContain('3 stored, 0 refused');
    expect(result.code).toBe(0);
    const out = join(dir, 'hsds2');
    await cli('directory', 'export', '--out', out, '--at', address, '--as', partnerId, '--pki', pki);
    const services = JSON.parse(await readFile(join(out, 'services_full.json'), 'utf8'));
    const cafe = services.find((s: any) => s.name === 'Sprachcafé Andernach');
    expect(cafe.service_areas[0].name).toBe('Stadt Andernach');
  });

  it('flyer renders the offers serving a municipality as HTML and PDF, right to left in Arabic', async () => {
    const base = join(dir, 'flyer-ar');
    const ar = await cli('flyer', '--municipality', 'andernach', '--lang', 'ar', '--out', base, '--at', address, '--as', hubId, '--pki', pki, '--hsds-url', 'https://verzeichnis.example/hsds');
    expect(ar.err).toBe('');
    expect(ar.code).toBe(0);
    const html = await readFile(`${base}.html`, 'utf8');
    expect(html).toContain('<html lang="ar" dir="rtl">');
    expect(html).toContain('الاستشارة والمساعدة في Stadt Andernach');
    // Andernach is served by the Jobcenter Mayen-Koblenz and the region-wide offers, not the Jobcenter Koblenz.
    expect(html).toContain('Jobcenter Landkreis Mayen-Koblenz');
    expect(html).not.toContain('>Jobcenter Koblenz<');
    expect(html).toContain('<svg');
    expect(html).toContain('https://verzeichnis.example/hsds/services?municipality=andernach');
    const pdf = await readFile(`${base}.pdf`);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const uk = await cli('flyer', '--municipality', 'koblenz', '--lang', 'uk', '--out', join(dir, 'flyer-uk'), '--at', address, '--as', hubId, '--pki', pki);
    expect(uk.code).toBe(0);
    const ukHtml = await readFile(join(dir, 'flyer-uk.html'), 'utf8');
    expect(ukHtml).toContain('<html lang="uk" dir="ltr">');
    expect(ukHtml).toContain('Консультації та допомога в Stadt Koblenz');
    expect(ukHtml).toContain('Jobcenter Koblenz');
    expect((await cli('flyer', '--municipality', 'berlin', '--lang', 'ar', '--at', address)).err).toContain('--municipality: one of koblenz');
    expect((await cli('flyer', '--municipality', 'koblenz', '--lang', 'xx', '--at', address)).err).toContain('--lang: one of de, en, ar, uk, fa, prs, tr, ru');
  }, 60_000);

  it('refuses a bad format or a missing --out with the usage exit code', async () => {
    expect((await cli('directory', 'export', '--format', 'csv', '--out', dir, '--at', address)).err).toContain('--format: only "hsds"');
    expect((await cli('directory', 'export', '--at', address)).code).toBe(2);
  });
});
