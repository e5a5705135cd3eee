// Throws random and extreme requests at every RPC a running server offers, as raw bytes over
// mTLS, and checks what must hold whatever a client sends: no INTERNAL, the server stays
// SERVING, and a refused call writes nothing. Requests are built from the .proto descriptors
// (so they reach the handlers, not only the decoder) and then sometimes broken on purpose.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { protoRoot } from '@lotse/contracts';
import { openDatabase, sql } from '@lotse/db';
import type { TlsIdentity } from '@lotse/grpc';
import fc from 'fast-check';
import { rawClient, type RawOutcome } from './raw-client.js';
import { RequestGenerator } from './request-generator.js';

export interface FuzzOptions {
  address: string;
  /** Certificates the calls present, chosen at random per call (own caseworkers and strangers). */
  identities: TlsIdentity[];
  /** The service's database: every table is counted before and after each refused call. */
  databaseUrl: string;
  /** Plausible strings (ids that exist, codes the service knows) mixed into generated fields. */
  samples?: string[];
  /**
   * Valid encoded requests by RPC path. The fuzzer appends generated fields to them — the last
   * value of a field wins in protobuf, a list grows — so most such calls are valid but one field,
   * and reach the service's rules and its writes rather than stopping at the first check.
   */
  examples?: Record<string, Uint8Array[]>;
  seed: number;
  /** Runs per RPC. */
  numRuns: number;
  /** Services not to fuzz (besides health and reflection). */
  skipServices?: string[];
  /** A table a refused call may still add rows to, e.g. an audit log that records refusals. */
  mayGrowOnRefusal?: (table: string, code: status) => boolean;
}

export interface FuzzReport {
  seed: number;
  numRuns: number;
  /** Calls per RPC path, with the status codes they ended with. */
  calls: Record<string, Record<string, number>>;
  total: number;
  /** Methods reflection listed that the server does not implement (not fuzzed). */
  notServed: string[];
  /** Calls that took over a second. */
  slow: { path: string; ms: number; code: string; bytes: number; head: string }[];
}

/** The service names the server lists by reflection (grpc.reflection.v1), health and reflection left out. */
export async function reflectServices(address: string, identity: TlsIdentity): Promise<string[]> {
  const client = new Client(address, credentials.createSsl(identity.ca, identity.key, identity.cert));
  try {
    const names = await new Promise<string[]>((resolve, reject) => {
      const call = client.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', (b: Buffer) => b, (b: Buffer) => b, new Metadata(), {
        deadline: Date.now() + 10_000,
      });
      call.on('data', (bytes: Buffer) => {
        // ServerReflectionResponse.list_services_response (6) → service (1) → name (1).
        const out: string[] = [];
        for (const list of fieldsOf(bytes, 6)) for (const service of fieldsOf(list, 1)) for (const name of fieldsOf(service, 1)) out.push(Buffer.from(name).toString('utf8'));
        resolve(out);
        call.end();
      });
      call.on('error', reject);
      call.write(Buffer.from(new BinaryWriter().tag(7, WireType.LengthDelimited).string('').finish()));
    });
    return names.filter((n) => !n.startsWith('grpc.health.') && !n.startsWith('grpc.reflection.'));
  } finally {
    client.close();
  }
}

function fieldsOf(bytes: Uint8Array, fieldNo: number): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === fieldNo && wireType === WireType.LengthDelimited) out.push(reader.bytes());
    else reader.skip(wireType, no);
  }
  return out;
}

/** grpc.health.v1.Health/Check for the whole server: true when SERVING. */
export async function isServing(address: string, identity: TlsIdentity): Promise<boolean> {
  const client = new Client(address, credentials.createSsl(identity.ca, identity.key, identity.cert));
  try {
    const response = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 5000 }, (e, r) =>
        e ? reject(e) : resolve(r!),
      ),
    );
    return Buffer.from(response).equals(Buffer.from([0x08, 0x01])); // status = SERVING (1)
  } finally {
    client.close();
  }
}

/** Every proto of the network in one package definition: types by full name, services with their methods. */
function loadAll(): PackageDefinition {
  // Every .proto under proto/lotse: a service added later is fuzzed without a change here.
  const files = (readdirSync(join(protoRoot, 'lotse'), { recursive: true }) as string[]).filter((f) => f.endsWith('.proto')).map((f) => join('lotse', f)).sort();
  return loadSync(
    files.map((f) => join(protoRoot, f)),
    { includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
}

export async function fuzzServer(options: FuzzOptions): Promise<FuzzReport> {
  const definition = loadAll();
  const generator = new RequestGenerator(definition, options.samples ?? []);
  const names = (await reflectServices(options.address, options.identities[0]!)).filter((n) => !options.skipServices?.includes(n));
  const clients = options.identities.map((id) => rawClient(options.address, id));
  const db = await openDatabase<any>({ url: options.databaseUrl, dataDir: 'unused', poolSize: 1 });
  const report: FuzzReport = { seed: options.seed, numRuns: options.numRuns, calls: {}, total: 0, slow: [], notServed: [] };
  try {
    const tables = (
      await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(db.db)
    ).rows.map((r) => r.table_name);
    const counts = async (): Promise<Record<string, number>> => {
      const { rows } = await sql<Record<string, number>>`select ${sql.join(tables.map((t) => sql`(select count(*)::int from ${sql.table(t)}) as ${sql.ref(t)}`))}`.execute(db.db);
      return rows[0]!;
    };
    let methodIndex = 0;
    for (const serviceName of names) {
      const service = definition[serviceName] as Record<string, { path: string; responseStream: boolean; requestType: { type: { name: string } } }> | undefined;
      if (!service) throw new Error(`the server offers ${serviceName}, which no .proto of the network defines`);
      for (const method of Object.values(service)) {
        const requestType = `${serviceName.split('.').slice(0, -1).join('.')}.${method.requestType.type.name}`;
        // Reflection lists every service of a loaded .proto file; one the server has no handlers
        // for answers UNIMPLEMENTED to anything, so there is nothing of the service's to fuzz.
        const probe = method.responseStream ? await clients[0]!.stream(method.path, new Uint8Array()) : await clients[0]!.unary(method.path, new Uint8Array());
        if (probe.code === status.UNIMPLEMENTED) {
          report.notServed.push(method.path);
          continue;
        }
        const calls: Record<string, number> = {};
        report.calls[method.path] = calls;
        await fc.assert(
          fc.asyncProperty(generator.request(requestType, options.examples?.[method.path] ?? []), fc.nat(clients.length - 1), async (bytes, who) => {
            const before = await counts();
            const client = clients[who]!;
            const started = performance.now();
            const outcome: RawOutcome = method.responseStream ? await client.stream(method.path, bytes, 10_000) : await client.unary(method.path, bytes, 10_000);
            const code = status[outcome.code] ?? String(outcome.code);
            calls[code] = (calls[code] ?? 0) + 1;
            report.total++;
            const ms = performance.now() - started;
            if (ms > 1000) report.slow.push({ path: method.path, ms: Math.round(ms), code, bytes: bytes.length, head: Buffer.from(bytes.subarray(0, 48)).toString('hex') });
            // INTERNAL or UNKNOWN: the service did not handle what it got. DEADLINE_EXCEEDED on a
            // local server: the call hung, or its answer could not be read (a trailer too big).
            if (outcome.code === status.INTERNAL || outcome.code === status.UNKNOWN || outcome.code === status.DEADLINE_EXCEEDED) {
              throw new Error(`${method.path} → ${code}: ${outcome.details}`);
            }
            if (outcome.code !== status.OK && outcome.code !== status.CANCELLED) {
              const after = await counts();
              for (const table of tables) {
                if (after[table] === before[table]) continue;
                if (options.mayGrowOnRefusal?.(table, outcome.code) && after[table]! > before[table]!) continue;
                throw new Error(`${method.path} → ${code} (refused) changed ${table}: ${before[table]} → ${after[table]} rows`);
              }
            }
          }),
          // One seed per RPC, derived from the suite's: each RPC's runs replay on their own.
          { seed: options.seed + methodIndex++, numRuns: options.numRuns, endOnFailure: true },
        );
        if (!(await isServing(options.address, options.identities[0]!))) throw new Error(`not SERVING after fuzzing ${method.path}`);
      }
    }
    return report;
  } finally {
    for (const c of clients) c.close();
    await db.close();
  }
}
