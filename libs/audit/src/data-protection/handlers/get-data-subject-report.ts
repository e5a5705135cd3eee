import { common, dataProtection } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import { isDataOwnerType } from '@lotse/flows';
import { PermissionDeniedError, setCaseRef, Violations } from '@lotse/grpc';
import { actorOfCall } from '../../actor.js';
import { appendAudit, auditEntriesFor } from '../../audit-log.js';
import { dataSubjectReport, ownersFromAudit } from '../report.js';
import { ACCESS_REQUEST_BASIS, AUDITOR_AGENCY_TYPE, isSelfOr, OPERATOR_AGENCY_TYPE, unary } from '../runtime.js';

/**
 * What this agency holds about a case and did with it (Art. 15 GDPR), for the case's data owner,
 * auditors, operators and the agency itself. Answering reads the case's records, so the answer
 * is audited in the same transaction when there was anything to tell.
 */
export const getDataSubjectReport = unary(dataProtection.DataProtectionServiceService.getDataSubjectReport, {
  access: { relation: 'owner-of-case' },
  validate: (req) => {
    const v = new Violations();
    const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
    v.throwIfAny();
    return { caseRef };
  },
  transaction: true,
  async handle({ caseRef }, { rt, ctx, trx }) {
    const actor = actorOfCall(ctx);
    setCaseRef(caseRef);
    if (!isSelfOr(ctx, rt.agencyId, [OPERATOR_AGENCY_TYPE, AUDITOR_AGENCY_TYPE])) {
      const owners = new Set([...(await rt.owners(trx, caseRef)), ...ownersFromAudit(await auditEntriesFor(trx as Kysely<any>, caseRef))]);
      if (!owners.has(ctx.caller.agencyId)) {
        // A data owner asking about a case this agency knows nothing of learns just that.
        if (owners.size === 0 && isDataOwnerType(ctx.caller.agencyType)) {
          return dataProtection.GetDataSubjectReportResponse.fromPartial({ agencyId: rt.agencyId, agencyType: rt.agencyType, caseRef, generatedAt: rt.now() });
        }
        throw new PermissionDeniedError(`${ctx.caller.agencyId} does not own case ${caseRef}; only its foreign office, auditors and operators may ask`);
      }
    }
    const report = await dataSubjectReport(trx, rt, caseRef);
    if (report.holdings.length > 0 || report.auditEntries.length > 0) {
      await appendAudit(trx, {
        ...actor,
        action: 'read',
        subjectRef: caseRef,
        categories: [...new Set(report.holdings.flatMap((h) => h.categories))].sort((a, b) => a - b),
        purpose: common.Purpose.PURPOSE_UNSPECIFIED,
        legalBasis: ACCESS_REQUEST_BASIS,
        details: { report: 'data_subject_report' },
        at: rt.now(),
      });
    }
    return report;
  },
});
