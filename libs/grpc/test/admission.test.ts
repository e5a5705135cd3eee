// Integration tier: admission control at a real gRPC server over mTLS. Beyond its in-flight
// limit a class of calls is refused at once with RESOURCE_EXHAUSTED and a retry hint, instead
// of queueing; a client with the retry policy gets through once a slot frees up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { lotsenhaus } from '@lotse/contracts';
import { createLogger } from '@lotse/logger';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, GrpcServer, type PromiseClient } from '../src/index.js';

const S = lotsenhaus.LotsenhausServiceService;
let dir: string;
let server: GrpcServer;
let plain: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
let retrying: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
/** Calls of ListProviders wait here until the test lets them go. */
let gate: { open: () => void; opened: Promise<void> };
const newGate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-admission-'));
  await ensureDevPki(dir, [
    { id: 'hub', agencyType: 'lotsenhaus' },
    { id: 'caller', agencyType: 'foreign-office' },
  ]);
  gate = newGate();
  server = new GrpcServer({ identity: loadIdentity(dir, 'hub'), logger: createLogger('hub', { level: 'silent' }), admission: { reads: 2, writes: 1, streams: 1, retryAfterMs: 50 } });
  const handlers: Record<string, unknown> = {
    listProviders: async () => {
      await gate.opened;
      return { providers: [] };
    },
    listAgreements: async () => ({ agreements: [] }),
    watchTimeline: async (_req: unknown, call: { signal: AbortSignal }) => {
      await new Promise((resolve) => call.signal.addEventListener('abort', resolve));
    },
  };
  server.add(S, 'lotse/lotsenhaus/v1/lotsenhaus.proto', handlers as any);
  const port = await server.listen('127.0.0.1', 0);
  plain = createClient(lotsenhaus.LotsenhausServiceClient, `127.0.0.1:${port}`, loadIdentity(dir, 'caller'), { serverAgencyId: 'hub' });
  retrying = createClient(lotsenhaus.LotsenhausServiceClient, `127.0.0.1:${port}`, loadIdentity(dir, 'caller'), { serverAgencyId: 'hub', retry: { initialBackoffMs: 50, maxBackoffMs: 200 } });
});

afterAll(async () => {
  gate?.open();
  plain?.close();
  retrying?.close();
  await server?.stop(1000);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Until both held calls are in their handler: on a loaded machine the first calls of a connection
 * (TLS handshake) took longer than a fixed 100 ms once, and the test then saw one read in flight.
 */
async function bothHeld(): Promise<void> {
  for (const deadline = Date.now() + 10_000; server.admission.busy('read') < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
}

const failure = (call: Promise<unknown>) => call.then(() => undefined, (e: ServiceError) => e);

describe('admission control at the gRPC edge', () => {
  it('refuses a read beyond the limit at once, with RESOURCE_EXHAUSTED and grpc-retry-pushback-ms, and takes it again once a slot is free', async () => {
    const held = [plain.listProviders({}), plain.listProviders({})];
    await bothHeld();
    expect(server.admission.busy('read')).toBe(2);
    const began = performance.now();
    const refused = await failure(plain.listAgreements({}));
    expect(performance.now() - began).toBeLessThan(500);
    expect(refused?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused?.details).toMatch(/2 read calls are in flight here already; try again in 50 ms/);
    expect(refused?.metadata.get('grpc-retry-pushback-ms')).toEqual(['50']);
    expect(server.admission.refused.read).toBeGreaterThanOrEqual(1);

    gate.open();
    await Promise.all(held);
    expect(server.admission.busy('read')).toBe(0);
    expect(await plain.listAgreements({})).toEqual({ agreements: [] });
  });

  it('a client with the retry policy gets through once the server has room again', async () => {
    gate = newGate();
    const held = [plain.listProviders({}), plain.listProviders({})];
    await bothHeld();
    const before = server.admission.refused.read;
    const asked = retrying.listAgreements({});
    setTimeout(() => gate.open(), 150);
    expect(await asked).toEqual({ agreements: [] });
    // It was refused at least once before it went through.
    expect(server.admission.refused.read).toBeGreaterThan(before);
    await Promise.all(held);
  });

  it('counts open streams apart from unary calls', async () => {
    const first = plain.raw.watchTimeline(lotsenhaus.WatchTimelineRequest.fromPartial({}));
    first.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const second = plain.raw.watchTimeline(lotsenhaus.WatchTimelineRequest.fromPartial({}));
    const code = await new Promise<number>((resolve) => second.on('error', (e: ServiceError) => resolve(e.code)));
    expect(code).toBe(status.RESOURCE_EXHAUSTED);
    // Unary reads still have their own room.
    expect(await plain.listAgreements({})).toEqual({ agreements: [] });
    first.cancel();
  });
});
