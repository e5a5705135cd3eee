// The console's OTLP/HTTP receiver (JSON): traces, logs and metrics from the network's own
// deployments (each with its token); spans of the console's own quiet traces are dropped.
import { OtlpFormatError, parseLogs, parseMetrics, parseTraces } from '../otlp/parse.js';
import type { ApiDeps } from './api.js';
import { requireTelemetrySender } from './auth.js';
import { HttpError, type Request, type Router } from './http-server.js';

export function registerOtlpReceiver(router: Router, { store, watcher, auth }: ApiDeps): void {
  const otlp = (parse: (body: unknown) => Promise<{ accepted: number; rejected: number }>) => async (req: Request) => {
    // Before reading the body: a stranger's spans would show in every operator's views.
    requireTelemetrySender(auth, req);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type === 'application/x-protobuf') {
      throw new HttpError(415, 'this receiver takes OTLP/HTTP JSON (application/json); set the exporter to json encoding', 'UNSUPPORTED_MEDIA_TYPE');
    }
    let body: unknown;
    try {
      body = JSON.parse(await req.text());
    } catch {
      throw new HttpError(400, 'the body is not valid JSON', 'INVALID_JSON');
    }
    try {
      const { rejected } = await parse(body);
      // The OTLP partial-success answer: the sender learns how many items were dropped and why.
      return rejected ? { partialSuccess: { rejectedSpans: String(rejected), errorMessage: 'spans without valid trace or span ids' } } : {};
    } catch (error) {
      if (error instanceof OtlpFormatError) throw new HttpError(400, error.message, 'INVALID_OTLP');
      throw error;
    }
  };
  router.on(
    'POST',
    '/v1/traces',
    otlp(async (body) => {
      const { spans, rejected } = parseTraces(body);
      const kept = spans.filter((s) => !watcher.quiet.has(s.trace_id));
      await store.addSpans(kept);
      return { accepted: kept.length, rejected };
    }),
  );
  router.on(
    'POST',
    '/v1/logs',
    otlp(async (body) => {
      const rows = parseLogs(body).filter((r) => !r.trace_id || !watcher.quiet.has(r.trace_id));
      await store.addLogs(rows);
      return { accepted: rows.length, rejected: 0 };
    }),
  );
  router.on(
    'POST',
    '/v1/metrics',
    otlp(async (body) => {
      const rows = parseMetrics(body);
      await store.addMetrics(rows);
      return { accepted: rows.length, rejected: 0 };
    }),
  );
}
