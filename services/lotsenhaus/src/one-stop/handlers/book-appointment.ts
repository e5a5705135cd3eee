import { eventTypeOf, oneStop, oneStopEvents } from '@lotse/contracts';
import { NotFoundError, Violations } from '@lotse/grpc';
import { v7 as uuidv7 } from 'uuid';
import { caseRefOf, recordStep, requireIntake, unary, type OneStopDesk } from '../desk-records.js';
import { toAppointment } from '../mappers.js';

const yearMs = 366 * 86_400_000;

/** An appointment with a partner's offer, for a case that had its intake. Stored answers under 'OneStop/BookAppointment'. */
export const bookAppointment = unary(oneStop.OneStopServiceService.bookAppointment, {
  access: 'self',
  validate: (req, rt) => validateBooking(req, rt),
  idempotent: { storedAs: 'OneStop/BookAppointment' },
  async handle({ requestId, caseRef, partnerId, offerCode, partner, offer, at }, { rt, trx }) {
    await requireIntake(trx, caseRef);
    const now = rt.now();
    const row = await trx
      .insertInto('one_stop_appointment')
      .values({ appointment_id: uuidv7(), case_ref: caseRef, partner_id: partnerId, offer_code: offerCode, at, status: oneStop.AppointmentStatus.APPOINTMENT_STATUS_BOOKED, booked_at: now, cancelled_at: null })
      .returningAll()
      .executeTakeFirstOrThrow();
    const eventId = await rt.publish(trx, oneStopEvents.AppointmentBooked, { caseRef, appointmentId: row.appointment_id, partnerId, offerCode, at, bookedAt: now }, caseRef);
    const summary = `Appointment booked with ${partner.name}: ${offer.title} (${offerCode}) on ${at.toISOString()}`;
    await recordStep(rt, trx, { eventId, caseRef, eventType: eventTypeOf(oneStopEvents.AppointmentBooked), summary });
    return { appointment: toAppointment(row) };
  },
});

/** The fields, then the partner and its offer (from the desk's partner list, so before any transaction). */
function validateBooking(req: oneStop.BookAppointmentRequest, rt: OneStopDesk) {
  const v = new Violations();
  const requestId = v.requestId(req.requestId);
  const caseRef = caseRefOf(v, req.caseRef);
  const partnerId = v.text('partner_id', req.partnerId, { max: 64 });
  const offerCode = v.text('offer_code', req.offerCode, { max: 32 });
  if (!req.at) v.add('at', 'must be set');
  else if (req.at.getTime() < rt.now().getTime()) v.add('at', 'must not be in the past');
  else if (req.at.getTime() > rt.now().getTime() + yearMs) v.add('at', 'must be within a year');
  v.throwIfAny();
  const partner = rt.partners.byId.get(partnerId);
  if (!partner) throw new NotFoundError('partner_id', partnerId, 'partner organisation');
  const offer = partner.offers.find((o) => o.code === offerCode);
  if (!offer) throw new NotFoundError('offer_code', offerCode, `offer of ${partnerId} with code`);
  return { requestId, caseRef, partnerId, offerCode, partner, offer, at: req.at! };
}
