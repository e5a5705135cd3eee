import { statistics as st } from '@lotse/contracts';
import type { AgencyContext, GrpcService } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import { statisticsApi } from './statistics-api.js';

export { suppress, defaultMinCount, type PublishedTable } from './disclosure-control.js';
export { computeStatistics, toCsv, measures } from './compute.js';

export function statisticsService(ctx: AgencyContext<HubDb>, directory: Directory, minCount: number): GrpcService<HubDb> {
  return { definition: st.StatisticsServiceService, protoFile: 'lotse/lotsenhaus/v1/statistics.proto', handlers: statisticsApi(ctx, directory, minCount) };
}
