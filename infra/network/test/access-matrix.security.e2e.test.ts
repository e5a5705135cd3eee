// Security, end to end: the authorisation matrix (policy/access.yaml) as the running network
// enforces it. Every RPC of every deployment kind is called with the certificate of every agency
// type and with the deployment's own; where the matrix says no, the answer is PERMISSION_DENIED
// from the edge and no database of the network changes; where it says yes, the edge lets the
// call through (the handler then answers as it does — usually INVALID_ARGUMENT for the empty
// request). People sign in (the default): an allowed call that acts for a person sends the token
// of a demo account of the caller whose role the row names (the roles themselves are
// roles.security.e2e.test.ts's); a refused one sends none, as the certificate alone decides
// it. The relation variants (not party, party, party after closure) are in
// need-to-know.security.e2e.test.ts.
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { loadAccessMatrix } from '@lotse/flows';
import { ensureDevPki } from '@lotse/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetworkOnPostgres, type NetworkOnPostgres } from '../src/network-process.js';
import { callEmpty as call, rawClients, rowCounts as countRows, services, targets, typeOf, type AnyService } from './support/raw-calls.js';

const matrix = loadAccessMatrix();
/** A certificate for every agency type of the matrix. */
const callersByType: Record<string, string> = {
  'foreign-office': 'kv-mayen-koblenz',
  lotsenhaus: 'lotsenhaus',
  'migration-services': 'caritas-rhein-mosel-ahr',
  'job-centre': 'jobcenter-mayen-koblenz',
  operator: 'console',
  auditor: 'matrix-auditor',
};

let setup: NetworkOnPostgres;
const clients = rawClients(() => setup);
const rawClient = clients.of;
const rowCounts = () => countRows(setup);

beforeAll(async () => {
  setup = await startNetworkOnPostgres();
  // The network's CA issues an auditor's certificate too, as the operator of the network would.
  await ensureDevPki(join(setup.home, 'pki'), [{ id: 'matrix-auditor', agencyType: 'auditor' }]);
}, 300_000);

afterAll(async () => {
  clients.close();
  await setup?.remove();
}, 60_000);

interface Case {
  target: string;
  method: string;
  key: string;
  streaming: boolean;
  service: AnyService;
  caller: string;
  allowed: boolean;
}

function mayCall(method: string, target: string, caller: string): boolean {
  const rule = matrix.rules.get(method);
  if (!rule) throw new Error(`${method} has no row in policy/access.yaml`);
  const callerType = caller === target ? typeOf[target]! : Object.entries(callersByType).find(([, id]) => id === caller)![0];
  return rule.callers.includes('any') || (caller === target && rule.callers.includes('self')) || rule.callers.includes(callerType);
}

describe('the authorisation matrix on the running network', () => {
  it('refuses at the edge every call the matrix does not allow, writes nothing, and lets every allowed call through', async () => {
    // Which services each deployment serves (an unserved one answers UNIMPLEMENTED to anyone).
    const cases: Case[] = [];
    for (const target of targets) {
      for (const service of services) {
        for (const [key, m] of Object.entries(service)) {
          const method = m.path.slice(1);
          const probe = await call(rawClient(service, target, target), key, m.responseStream);
          if (probe.code === status.UNIMPLEMENTED) continue;
          for (const caller of [target, ...Object.values(callersByType).filter((id) => id !== target)]) {
            cases.push({ target, method, key, streaming: m.responseStream, service, caller, allowed: mayCall(method, target, caller) });
          }
        }
      }
    }
    // Every RPC of the matrix is served somewhere and so called here.
    const called = new Set(cases.map((c) => c.method));
    expect([...matrix.rules.keys()].filter((m) => !called.has(m))).toEqual([]);

    const before = await rowCounts();
    const wrong: string[] = [];
    for (const c of cases.filter((x) => !x.allowed)) {
      const answer = await call(rawClient(c.service, c.target, c.caller), c.key, c.streaming);
      if (answer.code !== status.PERMISSION_DENIED || !answer.details.includes('authorisation matrix')) wrong.push(`${c.caller} → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
    }
    expect(wrong).toEqual([]);
    expect(await rowCounts()).toEqual(before);

    const staff = setup.network.staff()!;
    for (const c of cases.filter((x) => x.allowed)) {
      // The test's own auditor certificate has no demo staff: its rows let it call as software.
      const role = c.caller === callersByType.auditor ? undefined : staff.roleFor(c.method, c.caller, c.target);
      const answer = await call(rawClient(c.service, c.target, c.caller), c.key, c.streaming, role && (await staff.bearer(c.caller, role)));
      if (answer.details.includes('authorisation matrix') || answer.code === status.INTERNAL || answer.code === status.UNAUTHENTICATED) {
        wrong.push(`${c.caller} → ${c.target} ${c.method}: ${status[answer.code]} ${answer.details}`);
      }
    }
    expect(wrong).toEqual([]);
    const refused = cases.filter((c) => !c.allowed).length;
    process.stdout.write(`[access matrix] ${cases.length} calls: ${refused} refused at the edge, ${cases.length - refused} let through\n`);
    expect(refused).toBeGreaterThan(200);
  }, 240_000);
});
