import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Client,
  credentials,
  Server,
  ServerCredentials,
  status,
  type ChannelCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agencyFromPeerCertificate, ensureDevPki, loadIdentity, type DevDeployment } from '../src/index.js';

const deployments: DevDeployment[] = [
  { id: 'kv-myk', agencyType: 'foreign-office', hostnames: ['foreign-office'] },
  { id: 'lotsenhaus', agencyType: 'lotsenhaus' },
];

let root: string;
let dir: string;
let otherDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lotse-pki-'));
  dir = join(root, 'pki');
  otherDir = join(root, 'other-network');
  await ensureDevPki(dir, deployments);
  await ensureDevPki(otherDir, [{ id: 'kv-myk', agencyType: 'foreign-office' }]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ensureDevPki', () => {
  it('creates a CA and one certificate per deployment, keys as private PKCS#8 files', async () => {
    expect((await readdir(dir)).sort()).toEqual(['ca.crt', 'ca.key', 'kv-myk.crt', 'kv-myk.key', 'lotsenhaus.crt', 'lotsenhaus.key']);
    for (const file of ['ca.key', 'kv-myk.key', 'lotsenhaus.key']) {
      expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dir, file), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    const ca = new X509Certificate(await readFile(join(dir, 'ca.crt')));
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
  });

  it('issues leaf certificates with the agency in subject and SAN, for server and client use', async () => {
    const ca = new X509Certificate(await readFile(join(dir, 'ca.crt')));
    const leaf = new X509Certificate(await readFile(join(dir, 'kv-myk.crt')));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.subject.split('\n').sort()).toEqual(['CN=kv-myk', 'O=Lotse dev network', 'OU=foreign-office']);
    expect(leaf.subjectAltName?.split(', ')).toEqual([
      'DNS:localhost',
      'DNS:kv-myk',
      'DNS:foreign-office',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'URI:urn:lotse:agency:foreign-office:kv-myk',
    ]);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(leaf.checkHost('foreign-office')).toBe('foreign-office');
    expect(leaf.checkIP('::1')).toBe('::1');
    const years = (Date.parse(leaf.validTo) - Date.now()) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(1.9);
    expect(years).toBeLessThan(2.1);
  });

  it('reuses what exists and only adds what is missing', async () => {
    const before = await snapshot(dir);
    await ensureDevPki(dir, deployments);
    expect(await snapshot(dir)).toEqual(before);

    await ensureDevPki(dir, [...deployments, { id: 'caritas-koblenz', agencyType: 'counselling' }]);
    const after = await snapshot(dir);
    expect(after['ca.crt']).toEqual(before['ca.crt']);
    expect(after['kv-myk.crt']).toEqual(before['kv-myk.crt']);
    const ca = new X509Certificate(after['ca.crt']!);
    expect(new X509Certificate(after['caritas-koblenz.crt']!).verify(ca.publicKey)).toBe(true);
  });

  it('reissues a leaf with the same key when its names change', async () => {
    const scratch = join(root, 'renamed');
    await ensureDevPki(scratch, [{ id: 'awo', agencyType: 'counselling' }]);
    const before = await snapshot(scratch);
    await ensureDevPki(scratch, [{ id: 'awo', agencyType: 'counselling', hostnames: ['awo.example'] }]);
    const after = await snapshot(scratch);
    expect(after['awo.key']).toEqual(before['awo.key']);
    expect(after['ca.crt']).toEqual(before['ca.crt']);
    expect(after['awo.crt']).not.toEqual(before['awo.crt']);
    expect(new X509Certificate(after['awo.crt']!).checkHost('awo.example')).toBe('awo.example');
  });

  it('ends with one CA when several callers start at once, in one process or in two', async () => {
    const inProcess = join(root, 'race-in-process');
    await Promise.all([1, 2, 3, 4].map(() => ensureDevPki(inProcess, deployments)));
    await expectConsistent(inProcess);

    const twoProcesses = join(root, 'race-two-processes');
    const fixture = fileURLToPath(new URL('./fixtures/ensure-dev-pki.ts', import.meta.url));
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', fixture, twoProcesses], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    await Promise.all([run(), run()]);
    await expectConsistent(twoProcesses);
  });

  it('rejects ids that cannot be a file name and DNS name', async () => {
    await expect(ensureDevPki(join(root, 'bad'), [{ id: '../escape', agencyType: 'x' }])).rejects.toThrow(/deployment id/);
    await expect(ensureDevPki(join(root, 'bad'), [{ id: 'ca', agencyType: 'x' }])).rejects.toThrow(/reserved/);
    await expect(ensureDevPki(join(root, 'bad'), [{ id: 'a', agencyType: 'x:y' }])).rejects.toThrow(/agencyType/);
  });
});

describe('loadIdentity', () => {
  it('reads CA, certificate and key', async () => {
    const identity = loadIdentity(dir, 'lotsenhaus');
    expect(identity.ca).toEqual(await readFile(join(dir, 'ca.crt')));
    expect(identity.cert).toEqual(await readFile(join(dir, 'lotsenhaus.crt')));
    expect(identity.key).toEqual(await readFile(join(dir, 'lotsenhaus.key')));
  });

  it('names the missing file', () => {
    expect(() => loadIdentity(dir, 'nobody')).toThrow(join(dir, 'nobody.crt'));
  });
});

describe('agencyFromPeerCertificate', () => {
  it('returns undefined without a usable subject', () => {
    expect(agencyFromPeerCertificate(undefined)).toBeUndefined();
    // What grpc-js/Node hand over when the peer sent no certificate.
    expect(agencyFromPeerCertificate({} as never)).toBeUndefined();
    expect(agencyFromPeerCertificate({ subject: { CN: 'a' } } as never)).toBeUndefined();
    expect(agencyFromPeerCertificate({ subject: { CN: ['a', 'b'], OU: 'x' } } as never)).toBeUndefined();
  });
});

describe('mutual TLS with @grpc/grpc-js', () => {
  // A one-method service on raw bytes: enough to see who the server thinks is calling.
  const whoAmI: ServiceDefinition = {
    whoAmI: {
      path: '/lotse.test.v1.WhoAmI/WhoAmI',
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: Buffer) => value,
      requestDeserialize: (value: Buffer) => value,
      responseSerialize: (value: Buffer) => value,
      responseDeserialize: (value: Buffer) => value,
    },
  };
  const implementation = {
    whoAmI: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const agency = agencyFromPeerCertificate(call.getAuthContext()?.sslPeerCertificate);
      callback(null, Buffer.from(JSON.stringify(agency ?? null)));
    },
  };

  let server: Server;
  let port: number;

  beforeAll(async () => {
    const identity = loadIdentity(dir, 'lotsenhaus');
    server = new Server();
    server.addService(whoAmI, implementation);
    const serverCredentials = ServerCredentials.createSsl(identity.ca, [{ cert_chain: identity.cert, private_key: identity.key }], true);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', serverCredentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });

  afterAll(() => {
    server?.forceShutdown();
  });

  it('accepts a client certificate from the network CA and tells the server which agency calls', async () => {
    const identity = loadIdentity(dir, 'kv-myk');
    const answer = await call(`127.0.0.1:${port}`, credentials.createSsl(identity.ca, identity.key, identity.cert));
    expect(JSON.parse(answer.toString())).toEqual({ agencyId: 'kv-myk', agencyType: 'foreign-office' });
  });

  it('refuses a client without certificate', async () => {
    const identity = loadIdentity(dir, 'kv-myk');
    await expect(call(`127.0.0.1:${port}`, credentials.createSsl(identity.ca))).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    const ours = loadIdentity(dir, 'kv-myk');
    const foreign = loadIdentity(otherDir, 'kv-myk');
    await expect(call(`127.0.0.1:${port}`, credentials.createSsl(ours.ca, foreign.key, foreign.cert))).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });
  });

  it('lets the client refuse a server whose certificate comes from another CA', async () => {
    const foreign = loadIdentity(otherDir, 'kv-myk');
    const ours = loadIdentity(dir, 'kv-myk');
    await expect(call(`127.0.0.1:${port}`, credentials.createSsl(foreign.ca, ours.key, ours.cert))).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });
  });

  function call(target: string, channelCredentials: ChannelCredentials): Promise<Buffer> {
    const client = new Client(target, channelCredentials);
    return new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        '/lotse.test.v1.WhoAmI/WhoAmI',
        (value) => value,
        (value) => value,
        Buffer.alloc(0),
        { deadline: Date.now() + 10_000 },
        (error: ServiceError | null, value?: Buffer) => (error ? reject(error) : resolve(value!)),
      );
    }).finally(() => client.close());
  }
});

async function snapshot(folder: string): Promise<Record<string, Buffer>> {
  const files = (await readdir(folder)).sort();
  return Object.fromEntries(await Promise.all(files.map(async (file) => [file, await readFile(join(folder, file))] as const)));
}

async function expectConsistent(folder: string): Promise<void> {
  const files = await readdir(folder);
  // No temp files left behind by the losers of a race.
  expect(files.sort()).toEqual(['ca.crt', 'ca.key', 'kv-myk.crt', 'kv-myk.key', 'lotsenhaus.crt', 'lotsenhaus.key']);
  const ca = new X509Certificate(await readFile(join(folder, 'ca.crt')));
  for (const id of ['kv-myk', 'lotsenhaus']) {
    const leaf = new X509Certificate(await readFile(join(folder, `${id}.crt`)));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(await readFile(join(folder, `${id}.key`))))).toBe(true);
  }
}
