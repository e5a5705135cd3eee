// Security, end to end: the roles of policy/access.yaml on the running network, where people
// sign in (the default: the embedded OpenID issuer). Every RPC whose row names `people` is called at
// every deployment kind that serves it, over the certificate the row lets call (the deployment's
// own, or the console's for the operator API), once with the token of each demo account of that
// agency — one per role — and once without a token. A role outside the row is PERMISSION_DENIED
// naming the role, and nothing is written; a role inside it passes the edge (the handler then
// answers the empty request as it does). Without a token the call is UNAUTHENTICATED unless the
// row lets that caller call as software.
import { status } from '@grpc/grpc-js';
import { loadAccessMatrix } from '@lotse/flows';
import type { Role } from '@lotse/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';
import type { StaffTokens } from '../src/staff-tokens.js';
import { callEmpty, rawClients, rowCounts, services, targets, typeOf, type AnyService } from './support/raw-calls.js';

const matrix = loadAccessMatrix();
const consoleId = 'console';

let setup: NetworkOnPostgres;
let staff: StaffTokens;
const clients = rawClients(() => setup);

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  staff = setup.network.staff()!;
}, 300_000);

afterAll(async () => {
  clients.close();
  await setup?.remove();
}, 60_000);

/** `<role>.<agency>`'s token, from the one helper (renewed should the run outlast it). */
const tokenOf = (account: { agencyId: string; roles: Role[]; username: string }) => staff.bearer(account.agencyId, account.username.split('.')[0] as Role);

interface Case {
  service: AnyService;
  key: string;
  streaming: boolean;
  method: string;
  target: string;
  /** The certificate the call comes with: the deployment's own, or the console's. */
  caller: string;
  people: string[];
  asSoftware: boolean;
}

describe('roles on the running network', () => {
  it('let exactly the roles of each row through, refuse the others naming the role, and write nothing for a refusal', async () => {
    const cases: Case[] = [];
    for (const target of targets) {
      for (const service of services) {
        for (const [key, m] of Object.entries(service)) {
          const method = m.path.slice(1);
          const row = matrix.rules.get(method)!;
          if (!row.people) continue;
          const caller = row.callers.includes('self') ? target : row.callers.includes('operator') ? consoleId : undefined;
          if (!caller) continue;
          const probe = await callEmpty(clients.of(service, target, caller), key, m.responseStream);
          if (probe.code === status.UNIMPLEMENTED) continue;
          const callerType = caller === consoleId ? 'operator' : typeOf[target]!;
          const asSoftware = (row.machines ?? []).some((x) => (x === 'self' ? caller === target : x === callerType));
          cases.push({ service, key, streaming: m.responseStream, method, target, caller, people: row.people, asSoftware });
        }
      }
    }
    // Every row that names people is reached by some case.
    const reached = new Set(cases.map((c) => c.method));
    expect([...matrix.rules.values()].filter((r) => r.people && !reached.has(r.method)).map((r) => r.method)).toEqual([]);

    const accountsAt = (agencyId: string) => staff.signIn.staff.filter((s) => s.agencyId === agencyId && s.username.includes('.'));
    const wrong: string[] = [];
    const before = await rowCounts(setup);
    let refused = 0;
    for (const c of cases) {
      for (const account of accountsAt(c.caller)) {
        if (account.roles.some((r) => c.people.includes(r))) continue;
        const answer = await callEmpty(clients.of(c.service, c.target, c.caller), c.key, c.streaming, await tokenOf(account));
        refused++;
        if (answer.code !== status.PERMISSION_DENIED || !/needs the role/.test(answer.details)) wrong.push(`${account.username} → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
      }
      if (!c.asSoftware) {
        const answer = await callEmpty(clients.of(c.service, c.target, c.caller), c.key, c.streaming);
        if (answer.code !== status.UNAUTHENTICATED) wrong.push(`no token → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(await rowCounts(setup)).toEqual(before);

    let allowed = 0;
    for (const c of cases) {
      for (const account of accountsAt(c.caller)) {
        if (!account.roles.some((r) => c.people.includes(r))) continue;
        const answer = await callEmpty(clients.of(c.service, c.target, c.caller), c.key, c.streaming, await tokenOf(account));
        allowed++;
        if (answer.code === status.UNAUTHENTICATED || answer.code === status.INTERNAL || /needs the role|authorisation matrix/.test(answer.details)) {
          wrong.push(`${account.username} → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    process.stdout.write(`[roles] ${cases.length} RPCs at their deployments × 5 roles: ${refused} refused for the role, ${allowed} let through\n`);
    expect(refused).toBeGreaterThan(100);
  }, 240_000);
});
