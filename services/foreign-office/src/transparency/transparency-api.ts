import { dataProtection } from '@lotse/contracts';
import type { AsyncHandlers } from '@lotse/grpc';
import { declaredService, type AgencyContext } from '@lotse/runtime';
import type { ForeignOfficeDb } from '../db/schema.js';
import { getTransparencyReport } from './get-transparency-report.js';
import { peerReports, type TransparencyDeps } from './peer-reports.js';

export type { TransparencyDeps } from './peer-reports.js';

/**
 * lotse.data_protection.v1.TransparencyReportService: a newcomer's transparency report (Art. 15
 * GDPR). The foreign office owns the data and knows where it went: its own register, the hub
 * (routing facts, when a referral was made), the providers it was routed to and every agency its
 * disclosure register names. Each is asked for its data-subject report over gRPC; an agency that
 * cannot be reached is named in the report rather than failing it.
 */
export function transparencyReportApi(rt: AgencyContext<ForeignOfficeDb>, deps: TransparencyDeps): AsyncHandlers<typeof dataProtection.TransparencyReportServiceService> {
  return declaredService({ ...rt, reports: peerReports(rt, deps) }, dataProtection.TransparencyReportServiceService, { getTransparencyReport });
}
