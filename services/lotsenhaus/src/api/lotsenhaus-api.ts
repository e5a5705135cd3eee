import { common, lotsenhaus } from '@lotse/contracts';
import { channel, requireFlow } from '@lotse/flows';
import { NotFoundError, pageSize, PermissionDeniedError, setCaseRef, Violations, type AsyncHandlers, type CallContext } from '@lotse/grpc';
import type { AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import { agencyNames, type Directory } from '../domain/directory.js';
import { waitingSinceCutoff } from '../domain/working-days.js';
import { seesAllCases, visibleCases } from './case-parties.js';
import { hubReads } from '../db/hub-reads.js';
import { toCaseSummary, toTimelineEntry, type TimelineFeed } from './timeline-feed.js';
import { timelineTexts } from './timeline-text.js';

const S = lotsenhaus.LotsenhausServiceService;

/** Read side of the hub: an agency of the network (mTLS) reads the pseudonymous index of its own cases. */
export function lotsenhausApi(rt: AgencyContext<HubDb>, directory: Directory, feed: TimelineFeed): AsyncHandlers<typeof S> {
  const { db } = rt;
  const nameOf = agencyNames(directory);

  /** The case index carries the routing facts: only to agency types the flow table names. */
  function requireCaseIndexFlow(ctx: CallContext) {
    requireFlow({
      sender: rt.agencyType,
      recipient: ctx.caller.agencyType,
      channel: channel.grpc(ctx.method),
      purpose: 'case-coordination',
      categories: [common.DataCategory.DATA_CATEGORY_MUNICIPALITY, common.DataCategory.DATA_CATEGORY_AGE_GROUP],
    });
  }

  return {
    async getCaseTimeline(req, ctx) {
      requireCaseIndexFlow(ctx);
      const v = new Violations();
      const caseRef = v.text('case_ref', req.caseRef, { max: 64 });
      v.throwIfAny();
      setCaseRef(caseRef);
      const summary = await hubReads.caseSummary(db, caseRef);
      if (!summary) throw new NotFoundError('case_ref', caseRef, 'case');
      if (!(await visibleCases(db, ctx.caller, [caseRef])).has(caseRef)) {
        throw new PermissionDeniedError(`case_ref: ${ctx.caller.agencyId} is no party to case ${caseRef}; an agency reads only the cases it is or was part of`);
      }
      const entries = await hubReads.timeline(db, caseRef);
      const texts = await timelineTexts(db, entries, nameOf);
      return {
        caseSummary: toCaseSummary(summary),
        entries: entries.map((e) => toTimelineEntry(e, texts.get(e.event_id) ?? e.summary)),
      };
    },

    async watchTimeline(req, ctx) {
      requireCaseIndexFlow(ctx);
      const v = new Violations();
      const caseRef = v.text('case_ref', req.caseRef, { max: 64, required: false });
      v.throwIfAny();
      if (caseRef) setCaseRef(caseRef);
      const canSee = seesAllCases(ctx.caller) ? undefined : (refs: readonly string[]) => visibleCases(db, ctx.caller, refs);
      await feed.follow({ afterPosition: req.afterPosition, caseRef: caseRef || undefined, canSee }, ctx.signal, ctx.send);
    },

    async listCases(req, ctx) {
      requireCaseIndexFlow(ctx);
      const v = new Violations();
      v.enumValue('status', req.status, common.ReferralStatus, { required: false });
      const municipality = v.text('municipality', req.municipality, { max: 64, required: false });
      if (req.waitingLongerThanWorkingDays > 250) v.add('waiting_longer_than_working_days', 'must be at most 250');
      v.throwIfAny();
      const limit = pageSize(req.pageSize);
      const rows = await hubReads.listCases(db, {
        partyTo: seesAllCases(ctx.caller) ? undefined : ctx.caller.agencyId,
        status: req.status,
        agencyId: req.agencyId,
        municipality,
        // The case waits in its status since its last status change (updated_at).
        waitingSince: req.waitingLongerThanWorkingDays ? waitingSinceCutoff(rt.now(), req.waitingLongerThanWorkingDays) : undefined,
        escalatedOnly: req.escalatedOnly,
        after: req.pageToken || undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return { cases: page.map(toCaseSummary), nextPageToken: rows.length > limit ? page[page.length - 1]!.case_ref : '' };
    },

    async listErasures(req) {
      const v = new Violations();
      v.enumValue('status', req.status, lotsenhaus.ErasureStatus, { required: false });
      const caseRef = v.text('case_ref', req.caseRef, { max: 64, required: false });
      const token = v.text('page_token', req.pageToken, { max: 200, required: false });
      const [afterConsent, afterRecipient] = token ? token.split('|') : [];
      if (token && !afterRecipient) v.add('page_token', 'must be a next_page_token of an earlier answer');
      v.throwIfAny();
      const limit = pageSize(req.pageSize);
      const rows = await hubReads.listErasures(db, {
        status: req.status,
        caseRef: caseRef || undefined,
        after: token ? { consentId: afterConsent!, recipient: afterRecipient! } : undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        erasures: page.map((e) =>
          lotsenhaus.Erasure.fromPartial({
            consentId: e.consent_id,
            caseRef: e.case_ref,
            recipientAgencyId: e.recipient_agency_id,
            status: e.confirmed_at ? lotsenhaus.ErasureStatus.ERASURE_STATUS_CONFIRMED : lotsenhaus.ErasureStatus.ERASURE_STATUS_OPEN,
            withdrawnAt: e.withdrawn_at,
            withdrawalReceivedBy: e.received_by_agency_id,
            requestedAt: e.requested_at,
            confirmedAt: e.confirmed_at ?? undefined,
            erasedCategories: e.erased_categories,
            retained: e.retained,
          }),
        ),
        nextPageToken: rows.length > limit && last ? `${last.consent_id}|${last.recipient_agency_id}` : '',
      };
    },

    async listAgreements() {
      return {
        agreements: directory.agreements.map((a) => lotsenhaus.Agreement.fromPartial({ senderType: a.senderType, recipientType: a.recipientType, purposes: a.purposes })),
      };
    },

    async listProviders() {
      const capacity = await hubReads.capacity(db);
      return {
        providers: directory.providers.map((p) =>
          lotsenhaus.Provider.fromPartial({
            providerId: p.providerId,
            name: p.name,
            agencyType: p.agencyType,
            municipalities: [...new Set(p.agreements.flatMap((a) => a.municipalities))],
            ageGroups: [...new Set(p.agreements.flatMap((a) => a.ageGroups))],
            purposes: p.purposes,
            staffLanguages: p.languages,
            capacity: capacity.filter((c) => c.provider_id === p.providerId).map((c) => ({ kind: c.kind, free: c.free, changedAt: c.changed_at })),
          }),
        ),
      };
    },
  };
}
