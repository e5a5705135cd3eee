import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRevocations } from '@lotse/pki';
import { afterAll, describe, expect, it } from 'vitest';
import { runPkiCli } from '../src/cli/pki-commands.js';

describe('pnpm lotse enroll / rotate / revoke', () => {
  const root = mkdtempSync(join(tmpdir(), 'lotse-pki-cli-'));
  const pki = join(root, 'pki');
  const dir = join(root, 'deployment');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runPkiCli(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
    return { code, out, err };
  };

  it('enrols with a key made in the deployment folder, rotates with the old certificate named, revokes', async () => {
    const enrolled = await run('enroll', 'caritas-mayen', '--agency-type', 'migration-services', '--pki', pki, '--dir', dir);
    expect(enrolled).toMatchObject({ code: 0, err: '' });
    expect(existsSync(join(dir, 'caritas-mayen.key'))).toBe(true);
    // The CA's folder never holds the deployment's key.
    expect(existsSync(join(pki, 'caritas-mayen.key'))).toBe(false);
    const first = new X509Certificate(readFileSync(join(dir, 'caritas-mayen.crt')));
    expect(first.subject).toContain('CN=caritas-mayen');
    expect(first.checkIssued(new X509Certificate(readFileSync(join(pki, 'ca.crt'))))).toBe(true);

    expect((await run('enroll', 'caritas-mayen', '--agency-type', 'migration-services', '--pki', pki, '--dir', dir)).code).toBe(1);

    const rotated = await run('rotate', 'caritas-mayen', '--agency-type', 'migration-services', '--pki', pki, '--dir', dir);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toContain(`revoke caritas-mayen --certificate ${first.fingerprint256}`);
    expect(new X509Certificate(readFileSync(join(dir, 'caritas-mayen.crt'))).fingerprint256).not.toBe(first.fingerprint256);

    expect((await run('revoke', 'caritas-mayen', '--certificate', first.fingerprint256, '--pki', pki)).code).toBe(0);
    expect((await run('revoke', 'caritas-mayen', '--pki', pki)).code).toBe(0);
    const list = readRevocations(pki);
    expect(Object.keys(list.certificates)).toEqual([first.fingerprint256]);
    expect(Object.keys(list.deployments)).toEqual(['caritas-mayen']);
    expect((await run('rotate', 'x')).code).toBe(2);

    // A deployment that can write the folder cannot un-revoke itself: the list is the CA's.
    const file = join(pki, 'revoked.json');
    const signed = JSON.parse(readFileSync(file, 'utf8'));
    signed.revocations.deployments = {};
    writeFileSync(file, JSON.stringify(signed));
    expect(() => readRevocations(pki)).toThrow(/not signed by the network's CA/);
  });
});
