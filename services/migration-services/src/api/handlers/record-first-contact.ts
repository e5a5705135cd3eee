import { common, events, migrationServices as ms } from '@lotse/contracts';
import { FailedPreconditionError, ValidationError } from '@lotse/grpc';
import { validateReferralCall } from '@lotse/referrals';
import { hasData, toInboxReferral, unary } from '../case-records.js';

/** The first contact with the newcomer of an accepted referral, once; the hub hears of it. */
export const recordFirstContact = unary(ms.MigrationServicesServiceService.recordFirstContact, {
  access: 'self',
  validate: (req, rt) => {
    const { v, requestId, referralId } = validateReferralCall(req);
    const contactDate = v.isoDate('contact_date', req.contactDate, { notInFuture: true, today: rt.now() });
    v.enumValue('channel', req.channel, common.ContactChannel);
    v.throwIfAny();
    return { requestId, referralId, contactDate };
  },
  idempotent: true,
  async handle({ referralId, contactDate }, { rt, request: req, trx }) {
    const row = await rt.inbox.get(trx, referralId);
    if (row.status !== ms.InboxStatus.INBOX_STATUS_ACCEPTED) {
      throw new FailedPreconditionError(`referral ${referralId} is ${ms.inboxStatusToJSON(row.status)}; only an accepted referral has a first contact`);
    }
    if (row.first_contact_date) throw new FailedPreconditionError(`referral ${referralId} already has its first contact on ${row.first_contact_date}`);
    if (contactDate < row.received_at.toISOString().slice(0, 10)) {
      throw ValidationError.field('contact_date', 'must not be before the referral was received');
    }
    const updated = await trx
      .updateTable('received_referral')
      .set({ first_contact_date: contactDate, contact_channel: req.channel, interpreter_used: req.interpreterUsed })
      .where('referral_id', '=', referralId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await rt.publish(trx, events.FirstContactRecorded, { referralId, caseRef: row.case_ref, providerId: rt.agencyId, contactDate, channel: req.channel }, row.case_ref);
    return { referral: toInboxReferral(updated, await hasData(trx, referralId)) };
  },
});
