// The broker's generated configuration: the checked-in authorization block is what the generator
// makes of today's deployments and flow table, and every configuration we ship or generate loads
// on the nats-server these machines run (`nats-server -t`).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNatsConfig, permissionsFor, streamName } from '@lotse/messaging';
import { ensureDevPki } from '@lotse/pki';
import { BROKER_CERTIFICATE, brokerNetwork, demoAuthorization, writeLauncherBrokerConfig } from '../src/broker.js';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';
import { checkComposeBroker, checkInfraNatsFile, infraNatsDir as natsDir, infraNatsServerConfigs } from '../src/nats-config-check.js';
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-broker-config-'));
  await ensureDevPki(join(dir, 'pki'), [{ id: 'console', agencyType: 'operator' }, BROKER_CERTIFICATE]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Server configurations in infra/nats; the rest are fragments they include (site values, users). */
const serverConfigs = ['nats.conf', 'cluster-node.conf'];
const fragments = new Map([
  ['authorization.conf', 'both'],
  ['site.conf', 'both'],
  ['cluster.site.conf', 'cluster-node.conf'],
  ['compose.site.conf', 'nats.conf, mounted as site.conf by docker-compose.yml'],
]);

describe('the broker configuration', () => {
  it('infra/nats/authorization.conf is what `pnpm nats-config` generates (run it after changing deployments or flows)', () => {
    expect(readFileSync(join(natsDir, 'authorization.conf'), 'utf8')).toBe(demoAuthorization());
  });

  it('the configuration `pnpm start` writes loads on this nats-server', () => {
    const file = join(dir, 'launcher.conf');
    writeLauncherBrokerConfig(file, join(dir, 'pki'), demoDeployments(50050), consoleDeployment(50050));
    expect(checkNatsConfig(file)).toBeUndefined();
  });

  it('every checked-in file in infra/nats is known, and each server configuration loads as it is', () => {
    const files = readdirSync(natsDir).filter((f) => f.endsWith('.conf')).sort();
    expect(files).toEqual([...serverConfigs, ...fragments.keys()].sort());
    // As `pnpm nats-config --check` does: in infra/nats, where site.conf's check-pki/ paths point.
    // The users block loads on its own too.
    expect(infraNatsServerConfigs).toEqual([...serverConfigs, 'authorization.conf']);
    for (const file of infraNatsServerConfigs) expect(checkInfraNatsFile(file), file).toBeUndefined();
  });

  it('docker compose’s nats.conf loads with compose.site.conf in place of site.conf (its /pki paths pointed at a real PKI)', () => {
    expect(checkComposeBroker({ workDir: dir, pkiDir: join(dir, 'pki') })).toBeUndefined();
    // Same variables as the check copy, so neither can drift from what nats.conf uses.
    const names = (f: string) => [...readFileSync(f, 'utf8').matchAll(/^([A-Z_]+):/gm)].map((m) => m[1]).sort();
    expect(names(join(natsDir, 'compose.site.conf'))).toEqual(names(join(natsDir, 'site.conf')));
  });

  it('every deployment publishes only on its own subjects and subscribes only to its own inbox', () => {
    const network = brokerNetwork(demoDeployments(50050), consoleDeployment(50050));
    const text = demoAuthorization();
    for (const d of network.deployments) {
      expect(text).toContain(`"lotse.${d.id}.>"`);
      expect(text).toContain(`"_INBOX_${d.id}.>"`);
    }
    expect(text).not.toMatch(/STREAM\.(PURGE|MSG\.GET|MSG\.DELETE)|DIRECT\.GET|"_INBOX\.>"|"lotse\.>"|"\$JS\.API\.>"|CONSUMER\.DURABLE\.CREATE|CONSUMER\.DELETE/);
    // Deleting a stream: each deployment its own only (its relay makes one that went back again).
    const deletes = [...text.matchAll(/"\$JS\.API\.STREAM\.DELETE\.([^"]+)"/g)].map((m) => m[1]).sort();
    expect(deletes).toEqual(network.deployments.map((d) => streamName(d.id)).sort());
    for (const d of network.deployments) expect(permissionsFor(d, network).publish.filter((s) => s.includes('DELETE'))).toEqual([`$JS.API.STREAM.DELETE.${streamName(d.id)}`]);
  });
});
