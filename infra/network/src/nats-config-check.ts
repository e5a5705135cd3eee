// Whether every nats-server configuration the repository ships loads on this machine's
// nats-server (`nats-server -t`). A bare `nats-server -t -c <file>` from the repository root
// rejects most of them: compose's and Kubernetes' files name certificates at their container
// mounts (/pki, /etc/nats/tls) and a store under /data, and infra/nats's files include site.conf
// by a path relative to their own folder. So each is checked the way it is deployed: a copy with
// the mounts pointed at a throwaway PKI of the demo network, or in its own folder.
// `pnpm nats-config --check` runs all of them; the tests run each (nats-layout-files.test.ts,
// broker-config.test.ts).
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkNatsConfig } from '@lotse/messaging';
import { ensureDevPki } from '@lotse/pki';
import { BROKER_CERTIFICATE } from './broker.js';
import { consoleDeployment, demoDeployments } from './deployments.js';
import { layoutFiles } from './nats-layout-files.js';
import { repoRoot } from './paths.js';

export const infraNatsDir = join(repoRoot, 'infra/nats');
/** Server configurations in infra/nats that load as they are, in their folder (site.conf points at check-pki/). */
export const infraNatsServerConfigs = ['nats.conf', 'cluster-node.conf', 'authorization.conf'];

export interface CheckPlace {
  /** A scratch folder for the copies. */
  workDir: string;
  /** A PKI with the demo network's certificates and the broker's (demoCheckPki). */
  pkiDir: string;
}

/** The certificates every shipped file names: the demo deployments', the console's and the broker's. */
export async function demoCheckPki(pkiDir: string): Promise<void> {
  await ensureDevPki(pkiDir, [...[...demoDeployments(50050), consoleDeployment(50050)].map((d) => ({ id: d.id, agencyType: d.agencyType })), BROKER_CERTIFICATE]);
}

/** A compose or Kubernetes file (`pnpm nats-layout`), its mounts pointed at `place`; the server's complaint or undefined. */
export function checkLayoutFile(path: string, text: string, place: CheckPlace): string | undefined {
  const pki = `${place.pkiDir}/`;
  const local = text
    .split('/etc/nats/tls/').join(pki)
    .split('"/pki/').join(`"${pki}`)
    .split('/data/jetstream').join(join(place.workDir, 'js'));
  const file = join(place.workDir, path.replace(/\//g, '_'));
  writeFileSync(file, local);
  // The StatefulSet's pods name themselves; -t resolves the variable as a pod would.
  return checkNatsConfig(file, { env: { POD_NAME: 'nats-0' } });
}

/** A file of infra/nats as it is, in its folder. */
export function checkInfraNatsFile(name: string): string | undefined {
  return checkNatsConfig(name, { cwd: infraNatsDir });
}

/** docker-compose.yml's broker: infra/nats/nats.conf with compose.site.conf mounted as site.conf. */
export function checkComposeBroker(place: CheckPlace): string | undefined {
  const dir = join(place.workDir, 'compose-broker');
  mkdirSync(dir, { recursive: true });
  for (const f of ['nats.conf', 'authorization.conf']) copyFileSync(join(infraNatsDir, f), join(dir, f));
  writeFileSync(join(dir, 'site.conf'), readFileSync(join(infraNatsDir, 'compose.site.conf'), 'utf8').split('"/pki/').join(`"${place.pkiDir}/`));
  return checkNatsConfig('nats.conf', { cwd: dir });
}

/** Every shipped configuration, each with the server's complaint or undefined. */
export async function checkShippedConfigs(workDir: string): Promise<{ path: string; problem: string | undefined }[]> {
  const place = { workDir, pkiDir: join(workDir, 'pki') };
  await demoCheckPki(place.pkiDir);
  const results: { path: string; problem: string | undefined }[] = [];
  for (const path of layoutFiles().keys()) {
    const file = join(repoRoot, path);
    // The checked-in file, not a fresh rendering: what a deployment would mount.
    results.push({ path, problem: existsSync(file) ? checkLayoutFile(path, readFileSync(file, 'utf8'), place) : 'missing: run `pnpm nats-layout`' });
  }
  for (const name of infraNatsServerConfigs) results.push({ path: `infra/nats/${name}`, problem: checkInfraNatsFile(name) });
  results.push({ path: 'infra/nats/nats.conf with compose.site.conf (docker-compose.yml)', problem: checkComposeBroker(place) });
  return results;
}
