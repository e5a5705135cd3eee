// The bench's overload step counts refused attempts through the scenario clients' interceptor:
// against a real grpc-js server that refuses the first attempts as admission control does, the
// count must include the attempts grpc-js's retry policy made on its own.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallMeter } from '../src/scenario/call-meter.js';
import { meteringInterceptor, metering, retrying } from '../src/scenario/network.js';

const bytes = (b: Buffer) => b;
const service = { echo: { path: '/bench.Test/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } };
const retryPolicy = { maxAttempts: 5, initialBackoff: '0.05s', maxBackoff: '0.2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'] };

describe('metered scenario calls', () => {
  const server = new grpc.Server();
  /** Attempts the server saw for the current call; the request says how many to refuse. */
  let seen = 0;
  let client: grpc.Client & { echo: (req: Buffer, cb: (e: grpc.ServiceError | null, r: Buffer) => void) => void };
  const echo = (refuse: number) => new Promise<Buffer>((resolve, reject) => client.echo(Buffer.from(String(refuse)), (e, r) => (e ? reject(e) : resolve(r))));

  beforeAll(async () => {
    server.addService(service as unknown as grpc.ServiceDefinition, {
      echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        seen++;
        const refuse = Number(call.request.toString());
        if (refuse === -1) return done({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
        if (seen > refuse) return done(null, call.request);
        const metadata = new grpc.Metadata();
        metadata.set('grpc-retry-pushback-ms', '10');
        done({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'full', metadata });
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const Ctor = grpc.makeGenericClientConstructor(service as unknown as grpc.ServiceDefinition, 'Test');
    client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.service_config': JSON.stringify({ methodConfig: [{ name: [{ service: 'bench.Test' }], retryPolicy }] }),
      interceptors: [meteringInterceptor],
    }) as unknown as typeof client;
  });
  afterAll(() => {
    metering.meter = undefined;
    client?.close();
    server.forceShutdown();
  });

  it("counts every attempt grpc-js made, and each call once with its answer's latency", async () => {
    const meter = new CallMeter();
    metering.meter = meter;
    seen = 0;
    await retrying(() => echo(0), 'Echo');
    expect(seen).toBe(1);
    seen = 0;
    await retrying(() => echo(2), 'Echo');
    expect(seen).toBe(3);
    // grpc-js gives up after five refusals; the scenario's own retry sends it again.
    seen = 0;
    await retrying(() => echo(6), 'Echo');
    expect(seen).toBe(7);
    seen = 0;
    await expect(retrying(() => echo(-1), 'Echo')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    metering.meter = undefined;

    const c = meter.counts();
    expect(c).toMatchObject({ made: 4, accepted: 4, unanswered: 0, attempts: 1 + 3 + 7 + 1, refused: 0 + 2 + 6 + 0 });
    expect(c.acceptedLatency.n).toBe(4);
    // The third call waited for grpc-js's pushbacks and one pause of the scenario's (200–400 ms).
    expect(c.acceptedLatency.max).toBeGreaterThanOrEqual(200);
  });

  it('counts nothing once the meter is taken away', async () => {
    const meter = new CallMeter();
    metering.meter = meter;
    await retrying(() => echo(-2), 'Echo');
    metering.meter = undefined;
    expect(meter.counts()).toMatchObject({ made: 1, attempts: 1 });
    seen = 0;
    await retrying(() => echo(2), 'Echo');
    expect(seen).toBe(3);
    expect(meter.counts()).toMatchObject({ made: 1, attempts: 1, refused: 0 });
  });
});
