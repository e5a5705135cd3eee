// `pnpm bench:tokens`: what verifying a person's access token adds to a call — the embedded
// issuer's ES256 token verified by the services' verifier (keys cached, as on every call after
// the first), p50/p99 wall time and CPU per verification, against decoding the same token
// without verifying it, measured in the same run.
import { createPersonTokenVerifier, signInWithPassword } from '@lotse/identity';
import { startEmbeddedIssuer } from '@lotse/identity/issuer';
import { summarise } from './stats.js';

const audience = 'urn:lotse:bench';
const redirectUri = 'http://127.0.0.1/lotse-cli/callback';
const rounds = Number(process.env.ROUNDS ?? 5000);
const issuer = await startEmbeddedIssuer({
  staff: [{ username: 'bench', password: 'bench', sub: 'staff-bench', displayName: 'bench', agencyId: 'bench-agency', roles: ['caseworker'] }],
  audience,
  clients: [{ clientId: 'lotse-cli', redirectUris: [redirectUri] }],
});
try {
  const { accessToken } = await signInWithPassword({ issuer: issuer.issuer, clientId: 'lotse-cli', redirectUri, username: 'bench', password: 'bench' });
  const verifier = createPersonTokenVerifier({ issuer: issuer.issuer, audience });
  const header = `Bearer ${accessToken}`;
  await verifier.verify(header, 'bench-agency'); // fetches the keys once

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
  const baseline = await measure(() => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')));
  const verified = await measure(() => verifier.verify(header, 'bench-agency'));
  const row = (name: string, m: { p50: number; p99: number; cpu: number }) => `${name.padEnd(34)}${m.p50.toFixed(1).padStart(9)}${m.p99.toFixed(1).padStart(9)}${m.cpu.toFixed(1).padStart(10)}`;
  process.stdout.write(
    [
      `token verification, ${rounds} rounds (µs)          p50      p99   CPU/call`,
      row('decode only (baseline)', baseline),
      row('verify (ES256, issuer, aud, agency)', verified),
      `added by verification: p50 ${(verified.p50 - baseline.p50).toFixed(1)} µs, CPU ${(verified.cpu - baseline.cpu).toFixed(1)} µs per call`,
      '',
    ].join('\n'),
  );
} finally {
  await issuer.stop();
}
