import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli/cli-args.js';
import { parseMethodPath } from '../src/cli/reflection-client.js';
import { runCli } from '../src/cli/run-cli.js';
import { resolveTarget } from '../src/cli/target.js';
import { address, dir, LOTSENHAUS, networkFile, pki, repoRoot, useCliServer } from './support/cli-server.js';

const cliMain = join(repoRoot, 'infra/network/src/cli/main.ts');

useCliServer();

describe('command line', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) } };
  };

  it('parses methods and arguments', () => {
    expect(parseMethodPath('/a.b.S/M')).toEqual({ serviceName: 'a.b.S', methodName: 'M' });
    expect(parseMethodPath('a.b.S.M')).toEqual({ serviceName: 'a.b.S', methodName: 'M' });
    expect(() => parseMethodPath('S/M')).toThrow(/package\.Service\/Method/);
    expect(parseCli(['call', 'lotsenhaus', 'a.S/M', '--as', 'x', '--deadline', '500'])).toEqual({
      command: { kind: 'call', address: 'lotsenhaus', method: 'a.S/M', request: '{}' },
      options: { as: 'x', pki: '.lotse/pki', network: '.lotse/network.json', deadlineMs: 500 },
    });
    expect(() => parseCli(['list'])).toThrow(/takes <address>/);
    expect(() => parseCli(['list', 'x', '--deadline', 'soon'])).toThrow(/--deadline/);
  });

  it('turns reconcile into the operator API call, as the console unless --as says otherwise', () => {
    const { command, options } = parseCli(['reconcile', 'kv-mayen-koblenz', '--since', '2026-11-20T10:00:00Z']);
    expect(options.as).toBe('console');
    expect(command).toMatchObject({ kind: 'call', address: 'kv-mayen-koblenz', method: 'lotse.operator.v1.OperatorService/Reconcile' });
    expect(JSON.parse((command as { request: string }).request)).toMatchObject({ since: '2026-11-20T10:00:00.000Z', operatorName: 'pnpm lotse reconcile' });
    expect(JSON.parse((parseCli(['reconcile', 'lotsenhaus', '--as', 'ops']).command as { request: string }).request).since).toBeUndefined();
    expect(parseCli(['reconcile', 'lotsenhaus', '--as', 'ops']).options.as).toBe('ops');
    expect(() => parseCli(['reconcile', 'x', '--since', 'yesterday'])).toThrow(/--since/);
    expect(() => parseCli(['reconcile'])).toThrow(/takes <deployment>/);
  });

  it('resolves agency ids through the network file', async () => {
    expect(await resolveTarget('lotsenhaus', networkFile)).toEqual({ address, agencyId: 'lotsenhaus' });
    expect(await resolveTarget('10.0.0.1:50051', join(dir, 'missing.json'))).toEqual({ address: '10.0.0.1:50051' });
    await expect(resolveTarget('caritas-koblenz', networkFile)).rejects.toThrow(/agencies: lotsenhaus/);
    await expect(resolveTarget('lotsenhaus', join(dir, 'missing.json'))).rejects.toThrow(/start the network/);
  });

  it('prints usage with an example call', async () => {
    const { out, io: sink } = io();
    expect(await runCli(['--help'], sink)).toBe(0);
    expect(out.stdout).toContain('pnpm lotse call kv-mayen-koblenz lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer');
  });

  it('describes a service by agency id, presenting that agency’s certificate', async () => {
    const { out, io: sink } = io();
    const code = await runCli(['describe', 'lotsenhaus', LOTSENHAUS, '--pki', pki, '--network', networkFile], sink);
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    expect(out.stdout).toContain(`rpc ListCases(lotse.lotsenhaus.v1.ListCasesRequest) returns (lotse.lotsenhaus.v1.ListCasesResponse)`);
    expect(out.stdout).toContain('agencyId (agency_id): string = 2');
    expect(out.stdout).toContain('(no request fields)');
  });

  it('asks for --as when the address names no agency', async () => {
    const { out, io: sink } = io();
    expect(await runCli(['list', address, '--pki', pki], sink)).toBe(2);
    expect(out.stderr).toContain('--as <agency-id>');
  });

  it('runs as a process: list, call, and an error with field violations', async () => {
    const common = ['--pki', pki, '--network', networkFile];
    const list = await runMain(['list', 'lotsenhaus', ...common]);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout.split('\n')).toContain(LOTSENHAUS);

    const call = await runMain(['call', address, '--as', 'kv-mayen-koblenz', `${LOTSENHAUS}/ListProviders`, '{}', ...common]);
    expect(call).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(call.stdout)).toEqual({ providers: [expect.objectContaining({ providerId: 'caritas-koblenz', ageGroups: ['AGE_GROUP_ADULT'] })] });

    const failed = await runMain(['call', 'lotsenhaus', `${LOTSENHAUS}/GetCaseTimeline`, '{"caseRef":""}', ...common]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toBe('ERROR INVALID_ARGUMENT: case_ref: must not be empty\n  case_ref: must not be empty\n');
  });
});

function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
