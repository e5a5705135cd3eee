import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readTelemetryEnv } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

describe('readTelemetryEnv', () => {
  it('names the service after the agency and derives the OTLP traces, logs and metrics URLs', () => {
    const env = readTelemetryEnv({ AGENCY_ID: 'kv-myk', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(env.disabled).toBe(false);
    expect(env.options).toEqual({
      serviceName: 'kv-myk',
      agencyId: 'kv-myk',
      otlpTracesUrl: 'http://collector:4318/v1/traces',
      otlpLogsUrl: 'http://collector:4318/v1/logs',
      otlpMetricsUrl: 'http://collector:4318/v1/metrics',
    });
    expect(env.problems).toEqual([]);
  });

  it('takes the metrics export interval, and reports a bad one instead of failing', () => {
    expect(readTelemetryEnv({ OTEL_METRIC_EXPORT_INTERVAL: '1000' }).options.metricExportIntervalMs).toBe(1000);
    const bad = readTelemetryEnv({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' });
    expect(bad.options.metricExportIntervalMs).toBeUndefined();
    expect(bad.problems).toEqual([expect.stringContaining('OTEL_METRIC_EXPORT_INTERVAL')]);
  });

  it('keeps only interesting traces below LOTSE_TRACE_KEEP_RATIO 1, and every trace otherwise', () => {
    expect(readTelemetryEnv({ LOTSE_TRACE_KEEP_RATIO: '0.1' }).options.keepTraces).toEqual({ keepRatio: 0.1, slowMs: 500 });
    expect(readTelemetryEnv({ LOTSE_TRACE_KEEP_RATIO: '0', LOTSE_TRACE_SLOW_MS: '200' }).options.keepTraces).toEqual({ keepRatio: 0, slowMs: 200 });
    expect(readTelemetryEnv({ LOTSE_TRACE_KEEP_RATIO: '1' }).options.keepTraces).toBeUndefined();
    const bad = readTelemetryEnv({ LOTSE_TRACE_KEEP_RATIO: 'half' });
    expect(bad.options.keepTraces).toBeUndefined();
    expect(bad.problems).toEqual([expect.stringContaining('LOTSE_TRACE_KEEP_RATIO')]);
  });

  it('prefers OTEL_SERVICE_NAME, falls back to PROVIDER_ID and then to "lotse", exports nothing without endpoint', () => {
    expect(readTelemetryEnv({ OTEL_SERVICE_NAME: 'hub', PROVIDER_ID: 'caritas' }).options).toEqual({ serviceName: 'hub', agencyId: 'caritas' });
    expect(readTelemetryEnv({ PROVIDER_ID: 'caritas' }).options).toEqual({ serviceName: 'caritas', agencyId: 'caritas' });
    expect(readTelemetryEnv({}).options).toEqual({ serviceName: 'lotse' });
  });

  it('takes the per-signal endpoints as complete URLs', () => {
    const env = readTelemetryEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:4318/logs',
    });
    expect(env.options.otlpTracesUrl).toBe('http://b:4318/custom');
    expect(env.options.otlpLogsUrl).toBe('http://c:4318/logs');
    expect(env.options.otlpMetricsUrl).toBe('http://a:4318/v1/metrics');
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

  it("flushes spans, log records and metrics as OTLP JSON after the service's own SIGTERM handler let the process wind down", async () => {
    const { code, signal, stdout } = await runService('handler');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stdout).toContain('stopped');
    expect(received.map((r) => r.path).sort()).toEqual(['/v1/logs', '/v1/metrics', '/v1/traces']);
    for (const request of received) {
      expect(request.contentType).toContain('application/json');
      expect(request.body).toContain('"stringValue":"kv-myk"');
      expect(request.body).not.toContain('Mustermann');
    }
    const traces = JSON.parse(received.find((r) => r.path === '/v1/traces')!.body);
    const span = traces.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.name).toBe('fixture.work');
    expect(span.attributes).toContainEqual({ key: 'lotse.case_ref', value: { stringValue: 'C-9' } });

    const logs = JSON.parse(received.find((r) => r.path === '/v1/logs')!.body);
    const log = logs.resourceLogs[0].scopeLogs[0].logRecords[0];
    expect(log.body).toEqual({ stringValue: 'fixture logged' });
    // Emitted inside the span: the record carries its ids.
    expect(log.traceId).toBe(span.traceId);
    expect(log.spanId).toBe(span.spanId);
    expect(log.attributes).toContainEqual({ key: 'lotse.case_ref', value: { stringValue: 'C-9' } });
    expect(log.attributes).toContainEqual({ key: 'lotse.redacted_keys', value: { arrayValue: { values: [{ stringValue: 'newcomer.family_name' }] } } });

    const metrics = JSON.parse(received.find((r) => r.path === '/v1/metrics')!.body);
    const counter = metrics.resourceMetrics[0].scopeMetrics[0].metrics[0];
    expect(counter.name).toBe('fixture.count');
    expect(counter.sum.dataPoints[0].asInt ?? counter.sum.dataPoints[0].asDouble).toBe(2);
  });

  it('exports metrics every OTEL_METRIC_EXPORT_INTERVAL while running', async () => {
    await runService('handler', { OTEL_METRIC_EXPORT_INTERVAL: '200' }, () => received.some((r) => r.path === '/v1/metrics'));
    expect(received.filter((r) => r.path === '/v1/metrics').length).toBeGreaterThanOrEqual(2);
  });

  it('leaves the default SIGTERM behaviour alone for a process without handler', async () => {
    const { signal } = await runService('no-handler');
    expect(signal).toBe('SIGTERM');
  });

  /** Runs the fixture and sends SIGTERM once it is ready (and, if given, once `until` holds). */
  async function runService(
    mode: string,
    extraEnv: Record<string, string> = {},
    until?: () => boolean,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './libs/telemetry/src/register.ts', 'libs/telemetry/test/fixtures/service.ts', mode],
      { cwd: repoRoot, env: { ...env, AGENCY_ID: 'kv-myk', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const stopWhenDone = () => {
      if (child.killed || child.exitCode !== null) return;
      if (until && !until()) {
        setTimeout(stopWhenDone, 50);
        return;
      }
      child.kill('SIGTERM');
    };
    child.stdout.on('data', (chunk: string) => {
      const wasReady = stdout.includes('ready');
      stdout += chunk;
      if (!wasReady && stdout.includes('ready')) stopWhenDone();
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout };
  }
});
