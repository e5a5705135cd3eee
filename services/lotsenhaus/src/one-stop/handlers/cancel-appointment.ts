import { eventTypeOf, oneStop, oneStopEvents } from '@lotse/contracts';
import { FailedPreconditionError, NotFoundError, setCaseRef, Violations } from '@lotse/grpc';
import { recordStep, unary } from '../desk-records.js';
import { toAppointment } from '../mappers.js';

const { AppointmentStatus } = oneStop;

/** A booked appointment cancelled, with the reason as a code. Stored answers under 'OneStop/CancelAppointment'. */
export const cancelAppointment = unary(oneStop.OneStopServiceService.cancelAppointment, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    const requestId = v.requestId(req.requestId);
    const appointmentId = v.text('appointment_id', req.appointmentId, { max: 64 });
    v.enumValue('reason', req.reason, oneStop.CancelReason);
    v.throwIfAny();
    return { requestId, appointmentId, reason: req.reason };
  },
  idempotent: { storedAs: 'OneStop/CancelAppointment' },
  async handle({ requestId, appointmentId, reason }, { rt, trx }) {
    const row = await trx.selectFrom('one_stop_appointment').selectAll().where('appointment_id', '=', appointmentId).forUpdate().executeTakeFirst();
    if (!row) throw new NotFoundError('appointment_id', appointmentId);
    setCaseRef(row.case_ref);
    if (row.status !== AppointmentStatus.APPOINTMENT_STATUS_BOOKED) throw new FailedPreconditionError(`appointment ${appointmentId} is already cancelled`);
    const now = rt.now();
    const updated = await trx
      .updateTable('one_stop_appointment')
      .set({ status: AppointmentStatus.APPOINTMENT_STATUS_CANCELLED, cancel_reason: reason, cancelled_at: now })
      .where('appointment_id', '=', appointmentId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const eventId = await rt.publish(trx, oneStopEvents.AppointmentCancelled, { caseRef: row.case_ref, appointmentId, partnerId: row.partner_id, reason, cancelledAt: now }, row.case_ref);
    const partnerName = rt.partners.byId.get(row.partner_id)?.name ?? row.partner_id;
    const summary = `Appointment with ${partnerName} (${row.offer_code}) cancelled: ${oneStop.cancelReasonToJSON(reason).replace('CANCEL_REASON_', '').toLowerCase()}`;
    await recordStep(rt, trx, { eventId, caseRef: row.case_ref, eventType: eventTypeOf(oneStopEvents.AppointmentCancelled), summary });
    return { appointment: toAppointment(updated) };
  },
});
