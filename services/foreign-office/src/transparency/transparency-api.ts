import { status } from '@grpc/grpc-js';
import { common, dataProtection } from '@lotse/contracts';
import { ACCESS_REQUEST_BASIS, actorOfCall, appendAudit, dataSubjectReport, forwardCaseworker, type DataProtectionDeps } from '@lotse/audit';
import { createClient, isServiceError, NotFoundError, requireOwnCaseworker, setCaseRef, Violations, type AsyncHandlers, type PromiseClient } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { ForeignOfficeDb } from '../db/schema.js';
import { toConsent, toNewcomer } from '../api/mappers.js';
import { REGISTER_CATEGORIES } from '../data-protection/holdings.js';
import { renderReport } from './render-report.js';
import { reportLanguage, reportLanguages } from './report-strings.js';

const S = dataProtection.TransparencyReportServiceService;

export interface TransparencyDeps {
  /** gRPC addresses of the network's agencies (PEERS): the hub and every recipient. */
  peers: ReadonlyMap<string, string>;
  hubAgencyId: string;
  /** This office's own part, as its DataProtectionService reports it. */
  dataProtection: DataProtectionDeps<ForeignOfficeDb>;
  /** Per agency asked; an agency that does not answer in time is listed as unreachable. */
  peerDeadlineMs?: number;
}

const supported = Object.keys(reportLanguages).join(', ');

/**
 * lotse.data_protection.v1.TransparencyReportService: a newcomer's transparency report (Art. 15
 * GDPR). The foreign office owns the data and knows where it went: its own register, the hub
 * (routing facts, when a referral was made), the providers it was routed to and every agency its
 * disclosure register names. Each is asked for its data-subject report over gRPC; an agency that
 * cannot be reached is named in the report rather than failing it.
 */
export function transparencyReportApi(rt: AgencyContext<ForeignOfficeDb>, deps: TransparencyDeps): AsyncHandlers<typeof S> {
  const { db, agencyId } = rt;
  const clients = new Map<string, PromiseClient<dataProtection.DataProtectionServiceClient>>();
  const clientFor = (agencyId: string, address: string) => {
    let client = clients.get(address);
    if (!client) {
      client = createClient(dataProtection.DataProtectionServiceClient, address, rt.identity, { serverAgencyId: agencyId });
      clients.set(address, client);
    }
    return client;
  };

  async function ask(target: string, caseRef: string, metadata: ReturnType<typeof forwardCaseworker>): Promise<dataProtection.AgencyReport> {
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
  }

  return {
    async getTransparencyReport(req, call) {
      requireOwnCaseworker(call, agencyId);
      const v = new Violations();
      const newcomerId = v.text('newcomer_id', req.newcomerId, { max: 64 });
      const asked = (req.language ?? '').trim();
      if (asked && !reportLanguage(asked)) v.add('language', `must be one of ${supported} ("fa-AF" is Dari), got "${asked.slice(0, 20)}"`);
      v.throwIfAny();
      const actor = actorOfCall(call);

      const newcomer = await db.selectFrom('newcomer').selectAll().where('newcomer_id', '=', newcomerId).executeTakeFirst();
      if (!newcomer) throw new NotFoundError('newcomer_id', newcomerId);
      setCaseRef(newcomer.case_ref);
      const language = reportLanguage(asked || newcomer.languages.find((l) => reportLanguage(l)) || 'de')!;

      // Who may hold something: the hub and the providers once a referral went out, and whoever
      // the disclosure register says received data.
      const referrals = await db.selectFrom('referral').select(['provider_id']).where('newcomer_id', '=', newcomerId).execute();
      const disclosures = await db
        .selectFrom('data_access_log')
        .select('caller_agency_id')
        .distinct()
        .where('case_ref', '=', newcomer.case_ref)
        .where('outcome', '=', 'granted')
        .execute();
      const targets = [
        ...(referrals.length ? [deps.hubAgencyId] : []),
        ...referrals.flatMap((r) => (r.provider_id ? [r.provider_id] : [])),
        ...disclosures.map((d) => d.caller_agency_id),
      ].filter((id, i, all) => id !== agencyId && all.indexOf(id) === i);

      // Other agencies first, outside any transaction: never hold the database while waiting on the network.
      const metadata = forwardCaseworker(call);
      const remote = await Promise.all(targets.map((t) => ask(t, newcomer.case_ref, metadata)));

      const generatedAt = rt.now();
      const own = await rt.transact(async (trx) => {
        const report = await dataSubjectReport(trx, deps.dataProtection, newcomer.case_ref);
        const consents = await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomerId).orderBy('granted_at').execute();
        // Compiling the report reads the newcomer's data: that access is on record too.
        await appendAudit(trx, {
          ...actor,
          action: 'read',
          subjectRef: newcomer.case_ref,
          categories: REGISTER_CATEGORIES,
          purpose: common.Purpose.PURPOSE_UNSPECIFIED,
          legalBasis: ACCESS_REQUEST_BASIS,
          details: { report: 'transparency_report', language: language.code, agencies_asked: targets.length },
          at: generatedAt,
        });
        return { report, consents };
      });

      const agencies: dataProtection.AgencyReport[] = [{ agencyId, reached: true, error: '', report: own.report }, ...remote];
      const html = renderReport({
        language,
        generatedAt,
        agencyId,
        newcomer: toNewcomer(newcomer),
        consents: own.consents.map(toConsent),
        agencies,
      });
      return {
        newcomerId,
        caseRef: newcomer.case_ref,
        language: language.code,
        direction: language.direction,
        html,
        agencies,
        unreachableAgencyIds: remote.filter((a) => !a.reached).map((a) => a.agencyId),
        generatedAt,
      };
    },
  };
}
