// The raw baselines of `pnpm bench`, each in a process of its own so that its CPU time is its
// own, and written without any Lotse code: what the infrastructure costs before Lotse adds
// anything. Prints one JSON line with the result.
//
//   node --import tsx baselines.ts hop  <seconds> <rate>   PGlite txn (business + outbox row) → relay
//                                                           publishes with msgID → JetStream → consumer
//                                                           inserts its applied_event row + effect in one txn
//   node --import tsx baselines.ts grpc <seconds> <rate> <pki dir>   one mTLS unary call, server and
//                                                           client in this process
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const [kind, secondsArg, rateArg, pkiDir] = process.argv.slice(2);
const seconds = Number(secondsArg ?? 10);
const rate = Number(rateArg ?? 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process in ms, from /proc (clock ticks of 10 ms on Linux). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends `count` at a steady rate, each after the one before finished (as the journeys' steps do). */
async function paced(count: number, send: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    await send(i);
  }
}

async function hop(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-bench-hop-'));
  const port = await freePort();
  const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'nats')], { stdio: 'ignore' });
  try {
    const producerDb = await PGlite.create(join(dir, 'producer'));
    const consumerDb = await PGlite.create(join(dir, 'consumer'));
    await producerDb.exec(`create table business (id bigserial primary key, payload text not null);
      create table outbox (seq bigserial primary key, event_id text not null unique, subject text not null, payload bytea not null, published_at timestamptz)`);
    await consumerDb.exec(`create table applied_event (event_id text primary key, received_at timestamptz not null default now());
      create table effect (id bigserial primary key, event_id text not null)`);
    let nc;
    for (let i = 0; ; i++) {
      try {
        nc = await connect({ servers: `nats://127.0.0.1:${port}` });
        break;
      } catch (error) {
        if (i > 50) throw error;
        await sleep(100);
      }
    }
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'HOP', subjects: ['hop.>'] });
    await jsm.consumers.add('HOP', { durable_name: 'hop', ack_policy: AckPolicy.Explicit });

    // The relay: woken after each commit, publishes what the outbox holds in order, marks it.
    let wake: (() => void) | undefined;
    let running = true;
    let pending = false;
    const relay = (async () => {
      while (running) {
        if (!pending) await new Promise<void>((r) => (wake = r));
        pending = false;
        try {
          const { rows } = await producerDb.query<{ event_id: string; subject: string; payload: Uint8Array }>(
            'select event_id, subject, payload from outbox where published_at is null order by seq limit 100',
          );
          for (const row of rows) await js.publish(row.subject, row.payload, { msgID: row.event_id });
          if (rows.length) await producerDb.query('update outbox set published_at = now() where event_id = any($1::text[])', [rows.map((r) => r.event_id)]);
        } catch {
          // A publish that timed out on a busy machine: try the batch again (msgID drops what the
          // broker had stored). Unhandled, it ended the relay and the baseline waited forever.
          pending = true;
          await sleep(100);
        }
      }
    })();
    const notify = () => {
      pending = true;
      wake?.();
      wake = undefined;
    };

    // The consumer: applied_event row and effect in one transaction, then ack.
    const latencies: number[] = [];
    const total = Math.round(seconds * rate);
    const warmup = Math.min(50, Math.floor(total / 5));
    const consumer = await js.consumers.get('HOP', 'hop');
    const messages = await consumer.consume({ max_messages: 10 });
    let applied = 0;
    let allApplied: () => void = () => undefined;
    const done = new Promise<void>((r) => (allApplied = r));
    void (async () => {
      for await (const m of messages) {
        const { i, t } = JSON.parse(new TextDecoder().decode(m.data)) as { i: number; t: number };
        const eventId = m.headers?.get('Nats-Msg-Id') ?? String(i);
        await consumerDb.transaction(async (tx) => {
          const { rows } = await tx.query('insert into applied_event (event_id) values ($1) on conflict do nothing returning event_id', [eventId]);
          if (rows.length) await tx.query('insert into effect (event_id) values ($1)', [eventId]);
        });
        m.ack();
        if (i >= warmup) latencies.push(performance.now() - t);
        if (++applied === total) allApplied();
      }
    })();

    const send = async (i: number) => {
      const t = performance.now();
      const eventId = `e-${i}`;
      await producerDb.transaction(async (tx) => {
        await tx.query('insert into business (payload) values ($1)', [`row ${i}`]);
        await tx.query('insert into outbox (event_id, subject, payload) values ($1, $2, $3)', [eventId, 'hop.event', new TextEncoder().encode(JSON.stringify({ i, t }))]);
      });
      notify();
    };
    // Warm-up first (JIT, the databases' caches), then CPU over the measured events only.
    await paced(warmup, send);
    while (applied < warmup) await sleep(10);
    const cpu0 = process.cpuUsage();
    const nats0 = cpuMs(nats.pid!);
    const t0 = performance.now();
    await paced(total - warmup, (i) => send(i + warmup));
    await done;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const processCpuMs = (cpu.user + cpu.system) / 1000;
    const natsCpuMs = cpuMs(nats.pid!) - nats0;
    // Resident memory of what the hop needs: this process (both databases) and its nats-server.
    const rssMiB = (process.memoryUsage().rss + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${nats.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024) / 2 ** 20;
    running = false;
    notify();
    await relay;
    await messages.close();
    await nc.close();
    await producerDb.close();
    await consumerDb.close();
    const events = total - warmup;
    process.stdout.write(JSON.stringify({ kind: 'hop', events, rate, wallMs, latenciesMs: latencies, cpuMsPerEvent: (processCpuMs + natsCpuMs) / events, processCpuMs, natsCpuMs, rssMiB }) + '\n');
  } finally {
    nats.kill('SIGTERM');
    await new Promise((r) => nats.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function grpc(): Promise<void> {
  if (!pkiDir) throw new Error('grpc needs the PKI folder');
  const file = (name: string) => readFileSync(join(pkiDir, name));
  const ca = file('ca.crt');
  // Two of the network's certificates: the hub serves, the foreign office calls.
  const service: ServiceDefinition = {
    echo: {
      path: '/bench.Echo/Echo',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const server = new Server();
  server.addService(service, { echo: (call: { request: Buffer }, callback: (e: null, r: Buffer) => void) => callback(null, call.request) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createSsl(ca, [{ cert_chain: file('lotsenhaus.crt'), private_key: file('lotsenhaus.key') }], true), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const Client = makeGenericClientConstructor(service, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, credentials.createSsl(ca, file('kv-mayen-koblenz.key'), file('kv-mayen-koblenz.crt')), {
    'grpc.ssl_target_name_override': 'lotsenhaus',
  }) as unknown as { echo(req: Buffer, cb: (e: Error | null, r: Buffer) => void): void; close(): void };
  const call = () => new Promise<void>((resolve, reject) => client.echo(Buffer.from('a small request of about the size of a referral'), (e) => (e ? reject(e) : resolve())));
  const total = Math.round(seconds * rate);
  const warmup = Math.min(100, Math.floor(total / 5));
  await paced(warmup, call);
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  await paced(total - warmup, async () => {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  });
  const cpu = process.cpuUsage(cpu0);
  client.close();
  server.forceShutdown();
  const calls = total - warmup;
  process.stdout.write(JSON.stringify({ kind: 'grpc', calls, rate, latenciesMs: latencies, cpuMsPerCall: (cpu.user + cpu.system) / 1000 / calls }) + '\n');
}

if (kind === 'hop') await hop();
else if (kind === 'grpc') await grpc();
else throw new Error(`unknown baseline ${kind}`);
process.exit(0);
