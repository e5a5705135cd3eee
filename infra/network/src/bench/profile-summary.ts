// `node --import tsx infra/network/src/bench/profile-summary.ts <dir> [--skip-seconds S] [--top N]`
//
// Reads the V8 CPU profiles that `LOTSE_CPU_PROFILE_DIR=<dir> pnpm bench` (or `pnpm start`)
// wrote, one per process, and prints where each process spent its CPU: self time per layer
// (PGlite, kysely, pg protocol, OpenTelemetry, gRPC, NATS, logging, protobuf, …), as a share of
// the process's busy time, and the functions with the most self time. Samples of the first
// `--skip-seconds` (default 60) of each profile are left out, so start-up (transpiling,
// migrations, the first polls) does not count as the cost of a journey.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The layer a frame belongs to, from its script's path (first match wins). */
const LAYERS: [string, RegExp][] = [
  ['(idle)', /^\(idle\)$/],
  ['(garbage collector)', /^\(garbage collector\)$/],
  ['(program: V8/native, not JS)', /^\(program\)$/],
  ['PGlite (PostgreSQL in WebAssembly)', /@electric-sql\+pglite|^wasm:/],
  ['kysely (query building, compiling)', /kysely@/],
  ['pg / pg-protocol (wire protocol)', /\/pg@|pg-protocol@|pg-pool@|pg-types@|postgres-/],
  ['OpenTelemetry SDK and exporters', /@opentelemetry\+|@opentelemetry\//],
  ['protobufjs / proto-loader (reflection, grpc)', /protobufjs@|proto-loader@|@protobufjs/],
  ['gRPC (grpc-js)', /@grpc\+grpc-js|@grpc\/grpc-js/],
  ['NATS client', /@nats-io/],
  ['pino / sonic-boom (logging)', /pino@|sonic-boom@|fast-redact@|thread-stream@|quick-format|atomic-sleep|safe-stable-stringify/],
  ['tsx / esbuild (run-time transpile)', /tsx@|esbuild@/],
  ['other node_modules', /node_modules/],
  ['libs/contracts (ts-proto encode/decode)', /libs\/contracts\//],
  ['libs/telemetry', /libs\/telemetry\//],
  ['libs/logger', /libs\/logger\//],
  ['libs/db', /libs\/db\//],
  ['libs/grpc', /libs\/grpc\//],
  ['libs/messaging', /libs\/messaging\//],
  ['libs/audit', /libs\/audit\//],
  ['libs/runtime', /libs\/runtime\//],
  ['libs/flows', /libs\/flows\//],
  ['libs/referrals', /libs\/referrals\//],
  ['libs (other)', /libs\//],
  ['services/console/src/otlp + store (ingest)', /services\/console\/src\/(otlp|store)\//],
  ['services (domain code)', /services\//],
  ['node: tls/net/streams', /node:internal\/(tls|net|stream|streams|_tls|crypto\/|js_stream)|^node:(tls|net|stream)/],
  ['node: http (OTLP export, console)', /node:internal\/http|^node:_http|node:http/],
  ['node: other internals', /^node:/],
  ['Lotse code, bundled (libs + services; run from source to split it)', /\/build\/[a-z-]+\.mjs$/],
  ['(native / builtin without script)', /^$/],
];

function layerOf(frame: CallFrame): string {
  const key = frame.url === '' && frame.functionName.startsWith('(') ? frame.functionName : frame.url;
  for (const [name, pattern] of LAYERS) if (pattern.test(key)) return name;
  return 'other';
}

function summarise(file: string, skipSeconds: number, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let t = profile.startTime;
  const from = profile.startTime + skipSeconds * 1e6;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const layer = layerOf(frame);
    if (layer === '(idle)') continue;
    busy += us;
    layers.set(layer, (layers.get(layer) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^file:\/\/.*?\/(node_modules\/\.pnpm\/|libs\/|services\/)/, '$1')}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  // Which service this process ran: the one whose sources it loaded (file names carry only pids).
  const services = new Set(
    profile.nodes.map((n) => /services\/([a-z-]+)\/src\//.exec(n.callFrame.url)?.[1] ?? /\/build\/((?!telemetry)[a-z-]+)\.mjs$/.exec(n.callFrame.url)?.[1]).filter(Boolean),
  );
  // Which of our own functions each sample ran under: the deepest frame in libs/ or services/,
  // so the time spent in PGlite, kysely or the SDK is charged to the code that asked for it.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (layerOf(byId.get(id)!.callFrame) === '(idle)') continue;
    let at: number | undefined = id;
    let name = '(no Lotse frame on the stack)';
    while (at !== undefined) {
      const f = byId.get(at)!.callFrame;
      const m = /\/((?:libs|services)\/[^?]*)$/.exec(f.url);
      if (m && !f.url.includes('/node_modules/')) {
        name = `${f.functionName || '(anonymous)'} ${m[1]}`;
        break;
      }
      at = parent.get(at);
    }
    callers.set(name, (callers.get(name) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  process.stdout.write(`\n== ${[...services].join('+') || 'no service'} (${file.split('/').pop()}): busy ${(busy / 1e6).toFixed(1)} s after the first ${skipSeconds} s\n`);
  for (const [name, us] of [...layers].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${pct(us)}  ${name}\n`);
  process.stdout.write(`  top functions (self):\n`);
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`    ${pct(us)}  ${name.slice(0, 150)}\n`);
  process.stdout.write(`  charged to the deepest Lotse function on the stack (its own time and what it called):\n`);
  for (const [name, us] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`    ${pct(us)}  ${name.slice(0, 150)}\n`);
}

const args = process.argv.slice(2);
const dir = args.find((a) => !a.startsWith('--'));
if (!dir) {
  process.stderr.write('usage: profile-summary.ts <dir> [--skip-seconds S] [--top N]\n');
  process.exit(2);
}
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) summarise(join(dir, file), option('--skip-seconds', 60), option('--top', 15));
