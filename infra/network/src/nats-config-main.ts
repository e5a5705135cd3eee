// `pnpm nats-config`: writes infra/nats/authorization.conf (the broker's users and permissions).
// `pnpm nats-config --check`: loads every shipped nats-server configuration on this machine's
// nats-server, certificate paths pointed at a throwaway PKI (nats-config-check.ts); exits 1 if one fails.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoAuthorization } from './broker.js';
import { checkShippedConfigs } from './nats-config-check.js';
import { repoRoot } from './paths.js';

if (process.argv.includes('--check')) {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-nats-check-'));
  try {
    const results = await checkShippedConfigs(dir);
    for (const { path, problem } of results) process.stdout.write(problem ? `FAIL ${path}\n  ${problem.replace(/\n/g, '\n  ')}\n` : `ok   ${path}\n`);
    const failed = results.filter((r) => r.problem).length;
    process.stdout.write(failed ? `${failed} of ${results.length} configurations do not load\n` : `all ${results.length} configurations load on this nats-server\n`);
    process.exitCode = failed ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const file = `${repoRoot}/infra/nats/authorization.conf`;
  writeFileSync(file, demoAuthorization());
  process.stdout.write(`wrote ${file}\n`);
}
