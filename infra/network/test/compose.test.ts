// docker-compose.yml is accepted by a Compose tool (Debian's docker-compose 1.29, which .ci/run
// installs; it also rejects what Compose v2 alone would take, such as a top-level `name:`), and
// it wires the cluster-and-leaf layout of nats-layout.ts: every agency but the hub talks to its
// own leaf, each NATS server runs a file `pnpm nats-layout` renders.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { demoDeployments } from '../src/deployments.js';
import { repoRoot } from '../src/paths.js';

function compose(args: string[]) {
  const result = spawnSync('docker-compose', ['-f', join(repoRoot, 'docker-compose.yml'), ...args], { encoding: 'utf8', cwd: repoRoot });
  if (result.error) throw new Error(`docker-compose is needed (Debian: apt-get install docker-compose): ${result.error.message}`);
  return result;
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q`', () => {
    const result = compose(['config', '-q']);
    expect(result.stderr.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('runs three cluster nodes and a leaf per agency, each agency on its own leaf, every NATS config rendered by pnpm nats-layout', () => {
    const result = compose(['config']);
    expect(result.status, result.stderr).toBe(0);
    const services = parse(result.stdout).services as Record<string, any>;
    for (const n of ['nats-1', 'nats-2', 'nats-3']) expect(services[n]?.image, n).toMatch(/^nats:/);
    for (const d of demoDeployments(50050)) {
      const expected = d.service === 'lotsenhaus' ? 'tls://nats-1:4222' : `tls://leaf-${d.id}:4222`;
      expect(services[d.id].environment.NATS_URL, d.id).toBe(expected);
      expect(services[d.id].environment.NATS_STREAM_REPLICAS, d.id).toBe('3');
      if (d.service !== 'lotsenhaus') expect(services[`leaf-${d.id}`]?.image, `leaf-${d.id}`).toMatch(/^nats:/);
    }
    for (const [name, service] of Object.entries(services)) {
      if (!String(service.image).startsWith('nats:')) continue;
      const config = (service.volumes as any[]).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => v.includes('/etc/nats/nats.conf'));
      expect(config, name).toContain(`infra/compose/nats/${name}.conf`);
      expect(existsSync(join(repoRoot, 'infra/compose/nats', `${name}.conf`)), name).toBe(true);
    }
  });
});
