import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readTelemetryEnv } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

describe('readTelemetryEnv', () => {
  it('names the service after the agency and derives the OTLP traces URL', () => {
    const env = readTelemetryEnv({ AGENCY_ID: 'kv-myk', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(env.disabled).toBe(false);
    expect(env.options).toEqual({ serviceName: 'kv-myk', agencyId: 'kv-myk', otlpTracesUrl: 'http://collector:4318/v1/traces' });
  });

  it('prefers OTEL_SERVICE_NAME, falls back to PROVIDER_ID and then to "lotse", exports nothing without endpoint', () => {
    expect(readTelemetryEnv({ OTEL_SERVICE_NAME: 'hub', PROVIDER_ID: 'caritas' }).options).toEqual({ serviceName: 'hub', agencyId: 'caritas' });
    expect(readTelemetryEnv({ PROVIDER_ID: 'caritas' }).options).toEqual({ serviceName: 'caritas', agencyId: 'caritas' });
    expect(readTelemetryEnv({}).options).toEqual({ serviceName: 'lotse' });
  });

  it('takes the per-signal endpoint as a complete URL', () => {
    const env = readTelemetryEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom' });
    expect(env.options.otlpTracesUrl).toBe('http://b:4318/custom');
    expect(readTelemetryEnv({ OTEL_SDK_DISABLED: 'TRUE' }).disabled).toBe(true);
  });
});

describe('node --import ./libs/telemetry/src/register.ts', () => {
  // A stand-in OTLP/HTTP collector that records what arrives.
  let collector: Server;
  let endpoint: string;
  let received: { path: string; contentType: string; body: string }[] = [];

  beforeAll(async () => {
    collector = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ path: request.url ?? '', contentType: request.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString() });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    received = [];
  });

  afterAll(async () => {
    collector.close();
  });

  it("flushes spans after the service's own SIGTERM handler let the process wind down", async () => {
    const { code, signal, stdout } = await runService('handler');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stdout).toContain('stopped');
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.path).toBe('/v1/traces');
    expect(request?.contentType).toContain('application/json');
    expect(request?.body).toContain('fixture.work');
    expect(request?.body).toContain('"stringValue":"kv-myk"');
    expect(request?.body).toContain('lotse.case_ref');
    expect(request?.body).not.toContain('Mustermann');
  });

  it('leaves the default SIGTERM behaviour alone for a process without handler', async () => {
    const { signal } = await runService('no-handler');
    expect(signal).toBe('SIGTERM');
  });

  async function runService(mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './libs/telemetry/src/register.ts', 'libs/telemetry/test/fixtures/service.ts', mode],
      { cwd: repoRoot, env: { ...env, AGENCY_ID: 'kv-myk', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('ready') && !child.killed) child.kill('SIGTERM');
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout };
  }
});
