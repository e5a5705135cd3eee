// The cluster and leaf configurations compose and Kubernetes use are what `pnpm nats-layout`
// renders today, and each loads on this nats-server (certificate and store paths pointed at a
// real PKI, so that -t can open them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNatsConfig } from '@lotse/messaging';
import { ensureDevPki } from '@lotse/pki';
import { BROKER_CERTIFICATE } from '../src/broker.js';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';
import { layoutFiles } from '../src/nats-layout-files.js';
import { repoRoot } from '../src/paths.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-nats-layout-'));
  await ensureDevPki(join(dir, 'pki'), [...[...demoDeployments(50050), consoleDeployment(50050)].map((d) => ({ id: d.id, agencyType: d.agencyType })), BROKER_CERTIFICATE]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the rendered NATS layout files', () => {
  const files = [...layoutFiles()];

  it.each(files.map(([path]) => path))('%s is what `pnpm nats-layout` renders (run it after changing deployments or flows)', (path) => {
    expect(readFileSync(join(repoRoot, path), 'utf8')).toBe(new Map(files).get(path));
  });

  it.each(files.map(([path]) => path))('%s loads on this nats-server', (path) => {
    const pki = `${join(dir, 'pki')}/`;
    const text = new Map(files)
      .get(path)!
      .split('/etc/nats/tls/').join(pki)
      .split('"/pki/').join(`"${pki}`)
      .split('/data/jetstream').join(join(dir, 'js'));
    const file = join(dir, path.replace(/\//g, '_'));
    writeFileSync(file, text);
    // The StatefulSet's pods name themselves; -t resolves the variable like a pod would.
    process.env.POD_NAME = 'nats-0';
    expect(checkNatsConfig(file)).toBeUndefined();
  });
});
