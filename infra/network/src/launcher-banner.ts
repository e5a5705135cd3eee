// What `pnpm start` prints once the network is up: where each deployment listens and logs, the
// console and its operator token, how to sign in, and a referral to try with the demo newcomers.
import { join } from 'node:path';
import type { SeededNewcomer } from './demo-data.js';
import type { Deployment } from './deployments.js';
import type { Launch } from './launcher-environments.js';
import { DEMO_PASSWORD } from './sign-in.js';

export function networkUpBanner(
  { config, home, deployments, operatorConsole, consoleUrl, natsUrl, adminToken, signIn }: Launch,
  up: { seconds: string; adminTokenFile: string; seeded: SeededNewcomer[]; fo: Deployment },
): string {
  const { seconds, adminTokenFile, seeded, fo } = up;
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    '',
    `Lotse network is up (${seconds} s). NATS: ${natsUrl}. Data, certificates and logs: ${home}`,
    '',
    `  ${pad('deployment', 26)}${pad('gRPC (mTLS)', 18)}${pad('database', 10)}log`,
    ...deployments.map(
      (d) => `  ${pad(d.id, 26)}${pad(`127.0.0.1:${d.grpcPort}`, 18)}${pad(config.databaseUrl ? 'postgres' : 'pglite', 10)}${join(config.home, 'logs', `${d.id}.log`)}`,
    ),
    '',
    `Operator console: ${consoleUrl}  (map, cases, traces, health and lag, dead letters; log ${join(config.home, 'logs', `${operatorConsole.id}.log`)})`,
    signIn
      ? `  sign in there as operator (may replay and discard) or auditor (may look), password ${DEMO_PASSWORD}`
      : `  operator token for replay and discard (asked once in the browser): ${adminToken}  (also in ${adminTokenFile})`,
    '',
  ];
  if (signIn) {
    lines.push(
      `People sign in (OpenID issuer ${signIn.issuer}, password of every demo account: ${DEMO_PASSWORD}). Staff RPCs need a token; sign in first:`,
      `  pnpm lotse login kv-mayen-koblenz --as caseworker.kv-mayen-koblenz     (then pnpm lotse call kv-mayen-koblenz … sends it; the token is bound to the deployment's certificate, RFC 8705)`,
      `  demo accounts: <role>.<deployment> for every deployment and the console, role caseworker, supervisor, operator, auditor or dpo; also operator and auditor (the console's)`,
      '',
    );
  } else {
    lines.push('Sign-in is off (LOTSE_SIGN_IN=0, for development only): staff RPCs take the client certificate alone.', '');
  }
  if (seeded.length) {
    const first = seeded[0]!;
    lines.push(
      'Demo newcomers (with consent for migration counselling) at the foreign office:',
      ...seeded.map((s) => `  ${s.newcomerId}  case ${s.caseRef}  (${s.label})`),
      '',
      'Try a referral (any gRPC client works: reflection is on; use the certificates in ' + join(config.home, 'pki') + (signIn ? ' and an access token' : '') + '):',
      ...(signIn ? ['  pnpm lotse login kv-mayen-koblenz --as caseworker.kv-mayen-koblenz'] : []),
      `  pnpm lotse call kv-mayen-koblenz lotse.foreign_office.v1.ForeignOfficeService/RequestReferral '{"requestId":"try-1","newcomerId":"${first.newcomerId}","purpose":"PURPOSE_MIGRATION_COUNSELLING"}'`,
      `  pnpm lotse call lotsenhaus lotse.lotsenhaus.v1.LotsenhausService/GetCaseTimeline '{"caseRef":"${first.caseRef}"}' --as kv-mayen-koblenz`,
      ...(signIn ? ['  pnpm lotse login caritas-rhein-mosel-ahr --as caseworker.caritas-rhein-mosel-ahr'] : []),
      `  pnpm lotse call caritas-rhein-mosel-ahr lotse.migration_services.v1.MigrationServicesService/ListReferrals '{}'`,
      `  pnpm lotse call caritas-rhein-mosel-ahr lotse.migration_services.v1.MigrationServicesService/AcceptReferral '{"requestId":"try-2","referralId":"<referral id>"}'`,
      '',
      `With grpcurl: grpcurl -cacert ${config.home}/pki/ca.crt -cert ${config.home}/pki/kv-mayen-koblenz.crt -key ${config.home}/pki/kv-mayen-koblenz.key 127.0.0.1:${fo.grpcPort} list`,
      '',
    );
  }
  lines.push('Ctrl-C stops everything; the data stays for the next start.', '');
  return lines.join('\n');
}
