import { lotsenhaus } from '@lotse/contracts';
import { NotFoundError, pageSize, Violations, type AsyncHandlers } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { Selectable } from 'kysely';
import type { CaseIndexTable, HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';

const S = lotsenhaus.LotsenhausServiceService;

function toCaseSummary(row: Selectable<CaseIndexTable>): lotsenhaus.CaseSummary {
  return lotsenhaus.CaseSummary.fromPartial({
    caseRef: row.case_ref,
    status: row.status,
    currentAgencyId: row.current_agency_id,
    referralId: row.referral_id,
    municipality: row.municipality,
    ageGroup: row.age_group,
    openedAt: row.opened_at,
    updatedAt: row.updated_at,
  });
}

/** Read side of the hub: any agency of the network (mTLS) may read the pseudonymous index. */
export function lotsenhausApi(rt: AgencyContext<HubDb>, directory: Directory): AsyncHandlers<typeof S> {
  const { db } = rt;
  return {
    async getCaseTimeline(req) {
      const v = new Violations();
      const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
      v.throwIfAny();
      const summary = await db.selectFrom('case_index').selectAll().where('case_ref', '=', caseRef).executeTakeFirst();
      if (!summary) throw new NotFoundError('case_ref', caseRef, 'case');
      const entries = await db.selectFrom('timeline_entry').selectAll().where('case_ref', '=', caseRef).orderBy('occurred_at').orderBy('seq').execute();
      return {
        caseSummary: toCaseSummary(summary),
        entries: entries.map((e) =>
          lotsenhaus.TimelineEntry.fromPartial({
            eventId: e.event_id,
            eventType: e.event_type,
            agencyId: e.agency_id,
            occurredAt: e.occurred_at,
            recordedAt: e.recorded_at,
            traceId: e.trace_id,
            referralId: e.referral_id,
            summary: e.summary,
          }),
        ),
      };
    },

    async listCases(req) {
      const limit = pageSize(req.pageSize);
      let query = db.selectFrom('case_index').selectAll().orderBy('case_ref').limit(limit + 1);
      if (req.status) query = query.where('status', '=', req.status);
      if (req.agencyId) query = query.where('current_agency_id', '=', req.agencyId);
      if (req.pageToken) query = query.where('case_ref', '>', req.pageToken);
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      return { cases: page.map(toCaseSummary), nextPageToken: rows.length > limit ? page[page.length - 1]!.case_ref : '' };
    },

    async listProviders() {
      return {
        providers: directory.providers.map((p) =>
          lotsenhaus.Provider.fromPartial({
            providerId: p.providerId,
            name: p.name,
            agencyType: p.agencyType,
            municipalities: [...new Set(p.agreements.flatMap((a) => a.municipalities))],
            ageGroups: [...new Set(p.agreements.flatMap((a) => a.ageGroups))],
          }),
        ),
      };
    },
  };
}
