import { dataProtection } from '@lotse/contracts';
import {
  DATA_PROTECTION_PROTO_FILE,
  dataProtectionService,
  loadRetentionPolicy,
  retentionRule,
  startRetentionJob,
  type DataProtectionDeps,
  type RetentionJob,
} from '@lotse/audit';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { ForeignOfficeConfig } from '../config.js';
import type { ForeignOfficeDb } from '../db/schema.js';
import { transparencyReportApi } from '../transparency/transparency-api.js';
import { foreignOfficeHoldings } from './holdings.js';
import { foreignOfficeRetention } from './retention.js';

function registerRule(config: ForeignOfficeConfig) {
  return retentionRule(loadRetentionPolicy(config.retention?.policyFile), config.agencyType, 'newcomer_register');
}

/** The DataProtectionService every agency serves, and the transparency report only the foreign office compiles. */
export function foreignOfficeDataProtection(ctx: AgencyContext<ForeignOfficeDb>, config: ForeignOfficeConfig): GrpcService<ForeignOfficeDb>[] {
  const rule = registerRule(config);
  const deps: DataProtectionDeps<ForeignOfficeDb> = {
    agencyId: ctx.agencyId,
    agencyType: ctx.agencyType,
    db: ctx.db,
    now: ctx.now,
    ...foreignOfficeHoldings(ctx.agencyId, rule, ctx.now),
    runRetention: foreignOfficeRetention(ctx, rule),
  };
  return [
    dataProtectionService(deps),
    {
      definition: dataProtection.TransparencyReportServiceService,
      protoFile: DATA_PROTECTION_PROTO_FILE,
      handlers: transparencyReportApi(ctx, { peers: config.peers ?? new Map(), hubAgencyId: config.hubAgencyId, dataProtection: deps }),
    },
  ];
}

/** The scheduled retention job (RETENTION_INTERVAL_MS; 0 = only on RunRetention). */
export function startForeignOfficeRetention(ctx: AgencyContext<ForeignOfficeDb>, config: ForeignOfficeConfig): RetentionJob {
  return startRetentionJob({ intervalMs: config.retention?.intervalMs ?? 3_600_000, logger: ctx.logger, run: foreignOfficeRetention(ctx, registerRule(config)) });
}
