import { common, eventTypeOf, events, oneStop } from '@lotse/contracts';
import { NotFoundError, Violations } from '@lotse/grpc';
import type { Selectable } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { routingFacts } from '../../desk-port.js';
import { caseRefOf, maxEntries, recordStep, refuseWithdrawnConsent, requireIntake, unary, type OneStopDesk, type Trx } from '../desk-records.js';
import type { OneStopIntakeTable } from '../schema.js';

const { OfferKind, ReferOnPurpose } = oneStop;
const referOnPurposes: Record<number, { purpose: common.Purpose; kind: oneStop.OfferKind; recipientType: string; label: string }> = {
  [ReferOnPurpose.REFER_ON_PURPOSE_QUALIFICATION]: { purpose: common.Purpose.PURPOSE_QUALIFICATION, kind: OfferKind.OFFER_KIND_QUALIFICATION, recipientType: 'job-centre', label: 'qualification' },
  [ReferOnPurpose.REFER_ON_PURPOSE_JOB_PLACEMENT]: { purpose: common.Purpose.PURPOSE_JOB_PLACEMENT, kind: OfferKind.OFFER_KIND_JOB_PLACEMENT, recipientType: 'job-centre', label: 'job placement' },
};

/**
 * The desk refers a case on (to the job centre, for qualification or job placement), through
 * the hub like any referral. Stored answers under 'OneStop/ReferOn'.
 */
export const referOn = unary(oneStop.OneStopServiceService.referOn, {
  access: 'self',
  validate: (req, rt) => validateReferOn(req, rt),
  idempotent: { storedAs: 'OneStop/ReferOn' },
  async handle(input, { rt, trx, request }) {
    const { caseRef, partnerId, partner, target } = input;
    const intake = await requireIntake(trx, caseRef);
    const facts = await factsOfCase(trx, input, intake);
    await refuseWithdrawnConsent(trx, facts.consentId);
    const now = rt.now();
    const referralId = uuidv7();
    await trx
      .insertInto('one_stop_referral_on')
      .values({ referral_id: referralId, case_ref: caseRef, purpose: request.purpose, partner_id: partnerId || null, consent_id: facts.consentId, requested_at: now })
      .execute();
    const eventId = await rt.publish(
      trx,
      events.ReferralRequested,
      events.ReferralRequested.fromPartial({
        referralId,
        caseRef,
        referrerAgencyId: rt.agencyId,
        purpose: target.purpose,
        ...facts,
        preferredProviderId: partner?.agencyId ?? '',
        requestedAt: now,
        type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
        recipientType: target.recipientType,
        sourceReferralId: intake.referral_id ?? '',
      }),
      caseRef,
    );
    const to = partner ? ` (partner: ${partner.name})` : '';
    await recordStep(rt, trx, { eventId, caseRef, eventType: eventTypeOf(events.ReferralRequested), summary: `Referred on from the Lotsenhaus for ${target.label}${to}`, referralId });
    return { referral: oneStop.ReferralOn.fromPartial({ referralId, caseRef, purpose: request.purpose, partnerId, requestedAt: now }) };
  },
});

type ReferOnInput = ReturnType<typeof validateReferOn>;

function validateReferOn(req: oneStop.ReferOnRequest, rt: OneStopDesk) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const caseRef = caseRefOf(v, req.caseRef);
  v.enumValue('purpose', req.purpose, ReferOnPurpose);
  const partnerId = v.text('partner_id', req.partnerId, { max: 64, required: false });
  const consentId = v.text('consent_id', req.consentId, { max: 64, required: false });
  const municipality = v.text('municipality', req.municipality, { max: 64, required: false });
  const ownerAgencyId = v.text('owner_agency_id', req.ownerAgencyId, { max: 64, required: false });
  v.enumValue('age_group', req.ageGroup, common.AgeGroup, { required: false });
  if (req.consentedRecipients.length > maxEntries) v.add('consented_recipients', `must name at most ${maxEntries} recipients`);
  req.consentedRecipients.forEach((r, i) => v.pattern(`consented_recipients[${i}]`, r, /^[a-z0-9-]{1,64}$/, 'an agency id or agency type'));
  v.throwIfAny();
  const target = referOnPurposes[req.purpose]!;
  const partner = partnerId ? rt.partners.byId.get(partnerId) : undefined;
  if (partnerId && !partner) throw new NotFoundError('partner_id', partnerId, 'partner organisation');
  if (partner && !partner.offers.some((o) => o.kind === target.kind)) {
    new Violations().add('partner_id', `${partnerId} has no ${target.label} offer`).throwIfAny();
  }
  const given = { consentId, municipality, ageGroup: req.ageGroup, consentedRecipients: req.consentedRecipients, ownerAgencyId };
  return { requestId, caseRef, partnerId, partner, target, given };
}

/**
 * The consent and routing facts the referral on carries: what the request gives, else those of
 * the referral that brought the case to the Lotsenhaus; a walk-in must bring them all.
 */
async function factsOfCase(trx: Trx, { given }: ReferOnInput, intake: Selectable<OneStopIntakeTable>) {
  const received = intake.referral_id ? await trx.selectFrom('one_stop_referral').selectAll().where('referral_id', '=', intake.referral_id).executeTakeFirst() : undefined;
  const routed = received ? await routingFacts(trx, received.referral_id) : undefined;
  const facts = {
    consentId: given.consentId || received?.consent_id || '',
    municipality: given.municipality || routed?.municipality || '',
    ageGroup: given.ageGroup || received?.age_group || 0,
    consentedRecipients: given.consentedRecipients.length ? given.consentedRecipients : (routed?.consented_recipients ?? []),
    ownerAgencyId: given.ownerAgencyId || received?.owner_agency_id || '',
  };
  const missing = new Violations();
  const why = 'must be set for a case that did not come to the Lotsenhaus by referral';
  if (!facts.consentId) missing.add('consent_id', why);
  if (!facts.municipality) missing.add('municipality', why);
  if (!facts.ageGroup) missing.add('age_group', why);
  if (!facts.consentedRecipients.length) missing.add('consented_recipients', why);
  if (!facts.ownerAgencyId) missing.add('owner_agency_id', why);
  missing.throwIfAny();
  return facts;
}
