// The scenario's view of a running network: clients per deployment, each presenting the
// certificate of the agency whose caseworker acts and, where people sign in, that demo
// caseworker's token (renewed before it expires); and retries that keep the request id.
import { readFileSync } from 'node:fs';
import { InterceptingCall, status, type Interceptor, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { foreignOffice as fo, jobCentre as jc, lotsenhaus as hub, migrationServices as ms } from '@lotse/contracts';
import { createClient, type PromiseClient } from '@lotse/grpc';
import { loadIdentity } from '@lotse/pki';
import type { NetworkSignIn } from '../sign-in.js';
import { staffTokensOf, type StaffTokens } from '../staff-tokens.js';
import { previousAttempts, type CallMeter } from './call-meter.js';

export interface ScenarioNetwork {
  foreignOfficeId: string;
  hubId: string;
  foreignOffice: PromiseClient<fo.ForeignOfficeServiceClient>;
  /** The hub, read as the foreign office (the case index flow allows it). */
  hub: PromiseClient<hub.LotsenhausServiceClient>;
  migrationServices: Map<string, PromiseClient<ms.MigrationServicesServiceClient>>;
  jobCentres: Map<string, PromiseClient<jc.JobCentreServiceClient>>;
  /** The demo staff the clients sign in as; undefined on a network started with LOTSE_SIGN_IN=0. */
  staff: StaffTokens | undefined;
  close(): void;
}

interface NetworkFile {
  pki?: string;
  signIn?: NetworkSignIn;
  deployments: { id: string; agencyType: string; grpc: string; ready?: boolean }[];
  console?: { id: string };
}

const deadlineMs = 20_000;

/** Reads network.json and asks the hub which deployment is which kind of agency. */
export async function connectNetwork(networkFile: string, pkiDir: string | undefined, { metered = false } = {}): Promise<ScenarioNetwork & { pki: string }> {
  const file = JSON.parse(readFileSync(networkFile, 'utf8')) as NetworkFile;
  const pki = pkiDir ?? file.pki;
  if (!pki) throw new Error(`${networkFile} names no PKI folder; pass --pki`);
  const address = new Map(file.deployments.map((d) => [d.id, d.grpc]));
  const hubId = file.deployments.find((d) => d.id === 'lotsenhaus')?.id ?? 'lotsenhaus';
  const foreignOfficeId = file.deployments.find((d) => d.id.startsWith('kv-'))?.id ?? 'kv-mayen-koblenz';
  if (!address.has(hubId) || !address.has(foreignOfficeId)) throw new Error(`${networkFile} lists no hub (${hubId}) or foreign office (${foreignOfficeId})`);

  const staff = staffTokensOf(file, pki);
  const client = <C>(Ctor: any, id: string, asAgency = id) => {
    const plain = createClient<any>(Ctor, address.get(id)!, loadIdentity(pki, asAgency), { deadlineMs, serverAgencyId: id, retry: {}, ...(metered && { interceptors: [meteringInterceptor] }) }) as PromiseClient<C>;
    return staff ? staff.signedIn(Ctor.service, plain, asAgency, id) : plain;
  };
  const foreignOffice = client<fo.ForeignOfficeServiceClient>(fo.ForeignOfficeServiceClient, foreignOfficeId);
  const hubClient = client<hub.LotsenhausServiceClient>(hub.LotsenhausServiceClient, hubId, foreignOfficeId);

  const { providers } = await retrying(() => hubClient.listProviders({}));
  const migrationServices = new Map<string, PromiseClient<ms.MigrationServicesServiceClient>>();
  const jobCentres = new Map<string, PromiseClient<jc.JobCentreServiceClient>>();
  for (const p of providers) {
    // A provider in the directory without a running deployment is simply not driven.
    if (!address.has(p.providerId)) continue;
    if (p.agencyType === 'migration-services') migrationServices.set(p.providerId, client(ms.MigrationServicesServiceClient, p.providerId));
    if (p.agencyType === 'job-centre') jobCentres.set(p.providerId, client(jc.JobCentreServiceClient, p.providerId));
  }
  const all = [foreignOffice, hubClient, ...migrationServices.values(), ...jobCentres.values()];
  // Every account the clients will act as signs in now, before the first journey (and outside
  // the bench's measured windows); later sign-ins are only the renewals.
  await staff?.signInAll();
  return { pki, foreignOfficeId, hubId, foreignOffice, hub: hubClient, migrationServices, jobCentres, staff, close: () => all.forEach((c) => c.close()) };
}

export const codeOf = (error: unknown): number | undefined => (error as Partial<ServiceError>)?.code;

/** An RPC the server does not have (yet): the step is skipped and counted. */
export class NotThereYet extends Error {
  constructor(readonly rpc: string) {
    super(`${rpc} is not implemented by the running network`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls again while the deployment is unavailable (restarting, overloaded) or the outcome is
 * unknown (deadline) — with the same request, hence the same request id, so it counts once.
 * UNIMPLEMENTED becomes NotThereYet.
 */
export async function retrying<T>(call: () => Promise<T>, rpc = 'call', budgetMs = 120_000): Promise<T> {
  const meter = metering.meter;
  if (!meter) return repeating(call, rpc, budgetMs);
  const sentAt = performance.now();
  try {
    const answer = await repeating(call, rpc, budgetMs);
    meter.call(status.OK, performance.now() - sentAt);
    return answer;
  } catch (error) {
    meter.call(error instanceof NotThereYet ? status.UNIMPLEMENTED : codeOf(error), performance.now() - sentAt);
    throw error;
  }
}

async function repeating<T>(call: () => Promise<T>, rpc: string, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  let pause = 200;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const code = codeOf(error);
      if (code === status.UNIMPLEMENTED) throw new NotThereYet(rpc);
      if ((code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED && code !== status.RESOURCE_EXHAUSTED) || Date.now() > deadline) throw error;
      retries.count++;
      await sleep(pause + Math.random() * pause);
      pause = Math.min(pause * 2, 3000);
    }
  }
}

/** How many calls were repeated after UNAVAILABLE / DEADLINE_EXCEEDED. */
export const retries = { count: 0 };

/**
 * The meter the scenario's calls count into while one is set (the bench's overload step); unset,
 * `retrying` and the interceptor below pass calls straight through.
 */
export const metering: { meter?: CallMeter } = {};

/**
 * Counts each unary call's attempts as grpc-js's retry policy made them: installed only on the
 * clients of a metered network (`connectNetwork(…, { metered: true })`), and inert while no meter is set.
 */
export const meteringInterceptor: Interceptor = (options, nextCall) => {
  const meter = metering.meter;
  const method = options.method_definition;
  if (!meter || method.requestStream || method.responseStream) return new InterceptingCall(nextCall(options));
  let headers: Metadata | undefined;
  return new InterceptingCall(nextCall(options), {
    start(metadata, _listener, next) {
      next(metadata, {
        onReceiveMetadata(received, pass) {
          headers = received;
          pass(received);
        },
        onReceiveStatus(ended, pass) {
          meter.attempt(ended.code, previousAttempts(headers, ended.metadata));
          pass(ended);
        },
      });
    },
  });
};
