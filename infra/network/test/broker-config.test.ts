// The broker's generated configuration: the checked-in authorization block is what the generator
// makes of today's deployments and flow table, and every configuration we ship or generate loads
// on the nats-server these machines run (`nats-server -t`).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNatsConfig } from '@lotse/messaging';
import { ensureDevPki } from '@lotse/pki';
import { BROKER_CERTIFICATE, brokerNetwork, demoAuthorization, writeLauncherBrokerConfig } from '../src/broker.js';
import { consoleDeployment, demoDeployments } from '../src/deployments.js';
import { repoRoot } from '../src/paths.js';

const natsDir = join(repoRoot, 'infra/nats');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-broker-config-'));
  await ensureDevPki(join(dir, 'pki'), [{ id: 'console', agencyType: 'operator' }, BROKER_CERTIFICATE]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A shipped file with its certificate paths pointed at a real PKI, so that -t can open them. */
function withLocalPaths(name: string, replace: [string, string][]): string {
  const target = join(dir, name);
  let text = readFileSync(join(natsDir, name), 'utf8');
  for (const [from, to] of replace) text = text.split(from).join(to);
  writeFileSync(target, text);
  copyFileSync(join(natsDir, 'authorization.conf'), join(dir, 'authorization.conf'));
  return target;
}

describe('the broker configuration', () => {
  it('infra/nats/authorization.conf is what `pnpm nats-config` generates (run it after changing deployments or flows)', () => {
    expect(readFileSync(join(natsDir, 'authorization.conf'), 'utf8')).toBe(demoAuthorization());
  });

  it('the configuration `pnpm start` writes loads on this nats-server', () => {
    const file = join(dir, 'launcher.conf');
    writeLauncherBrokerConfig(file, join(dir, 'pki'), demoDeployments(50050), consoleDeployment(50050));
    expect(checkNatsConfig(file)).toBeUndefined();
  });

  it('docker compose’s nats.conf (with the generated users) loads on this nats-server', () => {
    const file = withLocalPaths('nats.conf', [
      ['/pki/', `${join(dir, 'pki')}/`],
      ['/data/jetstream', join(dir, 'js')],
    ]);
    expect(checkNatsConfig(file)).toBeUndefined();
  });

  it('the production cluster node’s configuration loads on this nats-server', () => {
    const pki = join(dir, 'pki');
    const file = withLocalPaths('cluster-node.conf', [
      ['/etc/nats/tls/server.crt', join(pki, 'nats.crt')],
      ['/etc/nats/tls/server.key', join(pki, 'nats.key')],
      ['/etc/nats/tls/route.crt', join(pki, 'nats.crt')],
      ['/etc/nats/tls/route.key', join(pki, 'nats.key')],
      ['/etc/nats/tls/ca.crt', join(pki, 'ca.crt')],
      ['/data/jetstream', join(dir, 'js')],
      ['$NATS_SERVER_NAME', 'nats-1'],
    ]);
    expect(checkNatsConfig(file)).toBeUndefined();
  });

  it('every deployment publishes only on its own subjects and subscribes only to its own inbox', () => {
    const network = brokerNetwork(demoDeployments(50050), consoleDeployment(50050));
    const text = demoAuthorization();
    for (const d of network.deployments) {
      expect(text).toContain(`"lotse.${d.id}.>"`);
      expect(text).toContain(`"_INBOX_${d.id}.>"`);
    }
    expect(text).not.toMatch(/STREAM\.(DELETE|PURGE|MSG\.GET|MSG\.DELETE)|DIRECT\.GET|"_INBOX\.>"|"lotse\.>"|"\$JS\.API\.>"|CONSUMER\.DURABLE\.CREATE|CONSUMER\.DELETE/);
  });
});
