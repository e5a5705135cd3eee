// `pnpm bench:tokens`: what verifying a person's access token adds to a call — the embedded
// issuer's ES256 token verified by the services' verifier (keys cached, as on every call after
// the first), p50/p99 wall time and CPU per verification, against decoding the same token
// without verifying it, measured in the same run. Then the same for a certificate-bound token
// (RFC 8705) checked against the call's certificate: the added cost is hashing the certificate's
// DER (SHA-256) and comparing it with `cnf.x5t#S256`.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateThumbprint, createPersonTokenVerifier, signInWithPassword } from '@lotse/identity';
import { startEmbeddedIssuer } from '@lotse/identity/issuer';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { summarise } from './stats.js';

const audience = 'urn:lotse:bench';
const redirectUri = 'http://127.0.0.1/lotse-cli/callback';
const rounds = Number(process.env.ROUNDS ?? 5000);
const pki = mkdtempSync(join(tmpdir(), 'lotse-bench-tokens-'));
await ensureDevPki(pki, [
  { id: 'bench-agency', agencyType: 'foreign-office' },
  { id: 'issuer', agencyType: 'issuer' },
]);
const certificate = loadIdentity(pki, 'bench-agency');
const der = new X509Certificate(certificate.cert).raw;
const issuer = await startEmbeddedIssuer({
  staff: [{ username: 'bench', password: 'bench', sub: 'staff-bench', displayName: 'bench', agencyId: 'bench-agency', roles: ['caseworker'] }],
  audience,
  clients: [
    { clientId: 'lotse-cli', redirectUris: [redirectUri] },
    { clientId: 'lotse-cli-bound', redirectUris: [redirectUri], certificateBound: true },
  ],
  mtls: { identity: loadIdentity(pki, 'issuer') },
});
try {
  const signIn = (clientId: string) => signInWithPassword({ issuer: issuer.issuer, clientId, redirectUri, username: 'bench', password: 'bench', certificate });
  const { accessToken } = await signIn('lotse-cli');
  const { accessToken: boundToken } = await signIn('lotse-cli-bound');
  const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
  const header = `Bearer ${accessToken}`;
  const boundHeader = `Bearer ${boundToken}`;
  await verifier.verify(header, 'bench-agency'); // fetches the keys once
  await verifier.verify(boundHeader, 'bench-agency', der);

  const measure = async (run: () => unknown) => {
    const times: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      await run();
      times.push((performance.now() - t) * 1000);
    }
    const used = process.cpuUsage(cpu);
    const { p50, p99 } = summarise(times);
    return { p50, p99, cpu: (used.user + used.system) / rounds };
  };
  // Unbound and bound in alternating rounds, so that the other engineers' load on this shared
  // machine falls on both alike: their difference is small against that noise.
  const interleaved = async (a: () => unknown, b: () => unknown) => {
    const times: [number[], number[]] = [[], []];
    const cpu = [0, 0];
    for (let i = 0; i < rounds; i++) {
      for (const which of i % 2 ? [1, 0] : [0, 1]) {
        const c = process.cpuUsage();
        const t = performance.now();
        await (which ? b : a)();
        times[which]!.push((performance.now() - t) * 1000);
        const used = process.cpuUsage(c);
        cpu[which]! += used.user + used.system;
      }
    }
    const of = (i: 0 | 1) => ({ ...summarise(times[i]), cpu: cpu[i]! / rounds });
    return [of(0), of(1)] as const;
  };
  const baseline = await measure(() => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')));
  const [verified, bound] = await interleaved(() => verifier.verify(header, 'bench-agency'), () => verifier.verify(boundHeader, 'bench-agency', der));
  const thumbprint = await measure(() => certificateThumbprint(der));
  const row = (name: string, m: { p50: number; p99: number; cpu: number }) => `${name.padEnd(40)}${m.p50.toFixed(1).padStart(9)}${m.p99.toFixed(1).padStart(9)}${m.cpu.toFixed(1).padStart(10)}`;
  process.stdout.write(
    [
      `token verification, ${rounds} rounds (µs)                p50      p99   CPU/call`,
      row('decode only (baseline)', baseline),
      row('verify (ES256, issuer, aud, agency)', verified),
      row('verify bound (… + x5t#S256 of the cert)', bound),
      row(`thumbprint alone (SHA-256, ${der.length} B DER)`, thumbprint),
      `added by verification: p50 ${(verified.p50 - baseline.p50).toFixed(1)} µs, CPU ${(verified.cpu - baseline.cpu).toFixed(1)} µs per call`,
      `added by the certificate binding: p50 ${(bound.p50 - verified.p50).toFixed(1)} µs, CPU ${(bound.cpu - verified.cpu).toFixed(1)} µs per call (the thumbprint alone: p50 ${thumbprint.p50.toFixed(1)} µs)`,
      '',
    ].join('\n'),
  );
} finally {
  await issuer.stop();
  rmSync(pki, { recursive: true, force: true });
}
