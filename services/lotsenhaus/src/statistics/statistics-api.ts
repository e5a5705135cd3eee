import { statistics as st } from '@lotse/contracts';
import { Violations, type AsyncHandlers } from '@lotse/grpc';
import { declaredService, handlersFor, type AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import { computeStatistics, toCsv } from './compute.js';
import { cohortSteps } from './timeline-query.js';

const S = st.StatisticsServiceService;
const { StatisticsDimension: D } = st;
const maxPeriodMs = 3 * 366 * 86_400_000;
const allDimensions = [D.STATISTICS_DIMENSION_PURPOSE, D.STATISTICS_DIMENSION_MUNICIPALITY, D.STATISTICS_DIMENSION_AGE_GROUP, D.STATISTICS_DIMENSION_LANGUAGE, D.STATISTICS_DIMENSION_PROVIDER];
const { unary } = handlersFor<AgencyContext<HubDb>>();

/** lotse.lotsenhaus.v1.StatisticsService: anonymous tables, so every agency of the network may ask. */
export function statisticsApi(hub: AgencyContext<HubDb>, directory: Directory, minCount: number): AsyncHandlers<typeof S> {
  const labels = {
    municipality: (code: string) => directory.municipalities.find((m) => m.code === code)?.name ?? code,
    provider: (id: string) => directory.providers.find((p) => p.providerId === id)?.name ?? id,
  };
  const getStatistics = unary(S.getStatistics, {
    access: 'network',
    validate: (req) => validateStatistics(req, minCount),
    async handle({ from, to, min, dimensions }, { rt }) {
      const cases = await cohortSteps(rt.db, from, to);
      const { tables, durations } = computeStatistics(cases, dimensions, min, labels);
      return { minCount: min, from, to, tables, durations, csv: toCsv(tables, durations) };
    },
  });
  return declaredService(hub, S, { getStatistics });
}

/** The period, the dimensions (all when none are named) and the smallest count shown, never below the hub's. */
function validateStatistics(req: st.GetStatisticsRequest, minCount: number) {
  const v = new Violations();
  if (!req.from) v.add('from', 'must be set');
  if (!req.to) v.add('to', 'must be set');
  if (req.from && req.to && req.from >= req.to) v.add('to', 'must be after from');
  if (req.from && req.to && req.to.getTime() - req.from.getTime() > maxPeriodMs) v.add('to', 'must be at most three years after from');
  req.dimensions.forEach((d, i) => v.enumValue(`dimensions[${i}]`, d, D));
  if (req.minCount !== 0 && req.minCount < minCount) v.add('min_count', `must not be below the hub's minimum, ${minCount}`);
  if (req.minCount > 1000) v.add('min_count', 'must be at most 1000');
  v.throwIfAny();
  const dimensions = req.dimensions.length ? [...new Set(req.dimensions)] : allDimensions;
  return { from: req.from!, to: req.to!, min: req.minCount || minCount, dimensions };
}
