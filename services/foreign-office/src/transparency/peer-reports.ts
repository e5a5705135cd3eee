import { status } from '@grpc/grpc-js';
import { dataProtection } from '@lotse/contracts';
import type { DataProtectionDeps, forwardCaseworker } from '@lotse/audit';
import type { Kysely } from '@lotse/db';
import { createClient, isServiceError, type PromiseClient } from '@lotse/grpc';
import { handlersFor, type AgencyContext } from '@lotse/runtime';
import type { ForeignOfficeDb } from '../db/schema.js';

// What the transparency report needs of the network: which agencies may hold something about a
// newcomer, and their data-subject reports, asked over gRPC.

export interface TransparencyDeps {
  /** gRPC addresses of the network's agencies (PEERS): the hub and every recipient. */
  peers: ReadonlyMap<string, string>;
  hubAgencyId: string;
  /** This office's own part, as its DataProtectionService reports it. */
  dataProtection: DataProtectionDeps<ForeignOfficeDb>;
  /** Per agency asked; an agency that does not answer in time is listed as unreachable. */
  peerDeadlineMs?: number;
}

export interface PeerReports extends TransparencyDeps {
  /** One agency's data-subject report; one that cannot be asked is named, not failed on. */
  ask(target: string, caseRef: string, metadata: ReturnType<typeof forwardCaseworker>): Promise<dataProtection.AgencyReport>;
}

/** The office's context with the deployment's way to the other agencies' reports. */
export type TransparencyRuntime = AgencyContext<ForeignOfficeDb> & { reports: PeerReports };

/** The report's handler is declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<TransparencyRuntime>();

/** One client per agency's address for the deployment's life. */
export function peerReports(rt: AgencyContext<ForeignOfficeDb>, deps: TransparencyDeps): PeerReports {
  const clients = new Map<string, PromiseClient<dataProtection.DataProtectionServiceClient>>();
  const clientFor = (agencyId: string, address: string) => {
    let client = clients.get(address);
    if (!client) {
      client = createClient(dataProtection.DataProtectionServiceClient, address, rt.identity, { serverAgencyId: agencyId });
      clients.set(address, client);
    }
    return client;
  };
  return {
    ...deps,
    async ask(target, caseRef, metadata) {
      const address = deps.peers.get(target);
      if (!address) return { agencyId: target, reached: false, error: 'no address configured (PEERS)', report: undefined };
      try {
        const report = await clientFor(target, address).getDataSubjectReport({ caseRef }, { deadlineMs: deps.peerDeadlineMs ?? 4000, metadata });
        return { agencyId: target, reached: true, error: '', report };
      } catch (error) {
        const reason = isServiceError(error) ? (status[error.code] ?? `status ${error.code}`) : 'no answer';
        rt.logger.warn({ agency: target, case_ref: caseRef, reason }, 'transparency report: an agency could not be asked');
        return { agencyId: target, reached: false, error: reason, report: undefined };
      }
    },
  };
}

/**
 * Who may hold something about the newcomer besides this office: the hub and the providers once
 * a referral went out, and whoever the disclosure register says received data.
 */
export async function agenciesToAsk(db: Kysely<ForeignOfficeDb>, newcomer: { newcomer_id: string; case_ref: string }, rt: { agencyId: string; reports: PeerReports }): Promise<string[]> {
  const referrals = await db.selectFrom('referral').select(['provider_id']).where('newcomer_id', '=', newcomer.newcomer_id).execute();
  const disclosures = await db
    .selectFrom('data_access_log')
    .select('caller_agency_id')
    .distinct()
    .where('case_ref', '=', newcomer.case_ref)
    .where('outcome', '=', 'granted')
    .execute();
  return [
    ...(referrals.length ? [rt.reports.hubAgencyId] : []),
    ...referrals.flatMap((r) => (r.provider_id ? [r.provider_id] : [])),
    ...disclosures.map((d) => d.caller_agency_id),
  ].filter((id, i, all) => id !== rt.agencyId && all.indexOf(id) === i);
}
