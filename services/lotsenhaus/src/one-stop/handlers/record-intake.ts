import { common, eventTypeOf, events, oneStop, oneStopEvents } from '@lotse/contracts';
import { FailedPreconditionError, NotFoundError, setCaseRef, Violations } from '@lotse/grpc';
import { v7 as uuidv7 } from 'uuid';
import { indexDeskCase, lockRoutedStatus } from '../../desk-port.js';
import { caseRefOf, codeExpected, codePattern, maxEntries, recordStep, refuseWithdrawnConsent, unary, type OneStopDesk, type Trx } from '../desk-records.js';

const { OfferKind, OneStopReferralStatus: RS } = oneStop;
const kindName = (k: number) => oneStop.offerKindToJSON(k).replace('OFFER_KIND_', '').toLowerCase().replace(/_/g, ' ');

/**
 * The newcomer at the desk: a walk-in, or a case the hub routed here, whose referral the intake
 * accepts. Stored answers under 'OneStop/RecordIntake' (see desk-records).
 */
export const recordIntake = unary(oneStop.OneStopServiceService.recordIntake, {
  access: 'self',
  validate: (req) => validateRecordIntake(req),
  idempotent: { storedAs: 'OneStop/RecordIntake' },
  async handle({ requestId, caseRef, referralId }, { rt, trx, request }) {
    setCaseRef(caseRef);
    const now = rt.now();
    if (referralId) await acceptAtDesk(rt, trx, referralId, caseRef, now);
    const intake = {
      intake_id: uuidv7(),
      case_ref: caseRef,
      referral_id: referralId || null,
      needs: [...request.needs],
      note_codes: request.noteCodes.map((c) => c.trim()),
      recorded_at: now,
    };
    await trx.insertInto('one_stop_intake').values(intake).execute();
    // A case that starts at the desk (a walk-in) enters the hub's case index, so its timeline can be read.
    await indexDeskCase(trx, caseRef, rt.agencyId, referralId, now);
    const eventId = await rt.publish(trx, oneStopEvents.IntakeRecorded, { caseRef, intakeId: intake.intake_id, referralId, needs: intake.needs, recordedAt: now }, caseRef);
    const summary = `Intake at the one-stop desk (${referralId ? 'referred' : 'walk-in'}); needs: ${intake.needs.map(kindName).join(', ')}`;
    await recordStep(rt, trx, { eventId, caseRef, eventType: eventTypeOf(oneStopEvents.IntakeRecorded), summary, referralId });
    return {
      intake: oneStop.Intake.fromPartial({ intakeId: intake.intake_id, caseRef, referralId, needs: intake.needs, noteCodes: intake.note_codes, recordedAt: now }),
    };
  },
});

function validateRecordIntake(req: oneStop.RecordIntakeRequest) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const caseRef = caseRefOf(v, req.caseRef);
  const referralId = v.text('referral_id', req.referralId, { max: 64, required: false });
  v.enumList('needs', req.needs, OfferKind, { min: 1, max: 4 });
  if (new Set(req.needs).size !== req.needs.length) v.add('needs', 'must name each need once');
  if (req.noteCodes.length > maxEntries) v.add('note_codes', `must name at most ${maxEntries} codes`);
  req.noteCodes.forEach((c, i) => v.pattern(`note_codes[${i}]`, c, codePattern, codeExpected));
  v.throwIfAny();
  return { requestId, caseRef, referralId };
}

/** The referral the intake takes in: still pending here and at the hub, for this case, under a consent in force. */
async function acceptAtDesk(rt: OneStopDesk, trx: Trx, referralId: string, caseRef: string, now: Date) {
  const referral = await trx.selectFrom('one_stop_referral').selectAll().where('referral_id', '=', referralId).forUpdate().executeTakeFirst();
  if (!referral) throw new NotFoundError('referral_id', referralId, 'referral routed to the Lotsenhaus');
  if (referral.case_ref !== caseRef) throw new FailedPreconditionError(`referral ${referralId} is for another case than ${caseRef}`);
  if (referral.status === RS.ONE_STOP_REFERRAL_STATUS_WITHDRAWN) {
    throw new FailedPreconditionError(`referral ${referralId} was withdrawn by its referrer; it can no longer be taken in`);
  }
  if (referral.status !== RS.ONE_STOP_REFERRAL_STATUS_PENDING) throw new FailedPreconditionError(`referral ${referralId} already had its intake`);
  await refuseWithdrawnConsent(trx, referral.consent_id);
  // The hub may have closed it before the desk heard of the withdrawal (the event is on
  // its way). FOR UPDATE: a withdrawal the hub applies meanwhile locks the same row, so
  // it either commits first (refused here) or after this intake, and then closes a
  // referral that was taken in.
  if ((await lockRoutedStatus(trx, referralId)) === common.ReferralStatus.REFERRAL_STATUS_WITHDRAWN) {
    throw new FailedPreconditionError(`referral ${referralId} was withdrawn by its referrer; it can no longer be taken in`);
  }
  await trx.updateTable('one_stop_referral').set({ status: RS.ONE_STOP_REFERRAL_STATUS_ACCEPTED, accepted_at: now }).where('referral_id', '=', referralId).execute();
  const acceptedId = await rt.publish(trx, events.ReferralAccepted, { referralId, caseRef, providerId: rt.agencyId, acceptedAt: now }, caseRef);
  await recordStep(rt, trx, { eventId: acceptedId, caseRef, eventType: eventTypeOf(events.ReferralAccepted), summary: 'Accepted at the Lotsenhaus one-stop desk', referralId });
}
