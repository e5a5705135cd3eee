import { lotsenhaus } from '@lotse/contracts';
import { pageSize, Violations } from '@lotse/grpc';
import { hubReads } from '../../db/hub-reads.js';
import { unary } from '../read-side.js';

const { ErasureStatus } = lotsenhaus;

/** Where the erasures asked after a withdrawal stand, recipient by recipient, a page at a time. */
export const listErasures = unary(lotsenhaus.LotsenhausServiceService.listErasures, {
  access: { relation: 'owner-of-withdrawal' },
  validate: (req) => {
    const v = new Violations();
    v.enumValue('status', req.status, ErasureStatus, { required: false });
    const caseRef = v.text('case_ref', req.caseRef, { max: 64, required: false });
    const token = v.text('page_token', req.pageToken, { max: 200, required: false });
    const [afterConsent, afterRecipient] = token ? token.split('|') : [];
    if (token && !afterRecipient) v.add('page_token', 'must be a next_page_token of an earlier answer');
    v.throwIfAny();
    return { status: req.status, caseRef: caseRef || undefined, after: token ? { consentId: afterConsent!, recipient: afterRecipient! } : undefined, pageSize: req.pageSize };
  },
  async handle(input, { rt, ctx }) {
    const limit = pageSize(input.pageSize);
    // owner-of-withdrawal: a foreign office sees the erasures of the withdrawals of its own cases;
    // the hub itself, operators and auditors see all (the rows hold case references, no personal data).
    const ownerAgencyId = ctx.caller.agencyId !== rt.agencyId && ctx.caller.agencyType === 'foreign-office' ? ctx.caller.agencyId : undefined;
    const rows = await hubReads.listErasures(rt.db, { status: input.status, caseRef: input.caseRef, ownerAgencyId, after: input.after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      erasures: page.map((e) =>
        lotsenhaus.Erasure.fromPartial({
          consentId: e.consent_id,
          caseRef: e.case_ref,
          recipientAgencyId: e.recipient_agency_id,
          status: e.confirmed_at ? ErasureStatus.ERASURE_STATUS_CONFIRMED : ErasureStatus.ERASURE_STATUS_OPEN,
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
});
