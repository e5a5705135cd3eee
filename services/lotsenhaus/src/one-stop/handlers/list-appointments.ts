import { oneStop } from '@lotse/contracts';
import { NotFoundError, setCaseRef, Violations } from '@lotse/grpc';
import { sql } from 'kysely';
import { caseRefOf, unary, type OneStopDesk } from '../desk-records.js';
import { toAppointment } from '../mappers.js';

/** Appointments of a case, a partner or a day (at least one of them), in time order. */
export const listAppointments = unary(oneStop.OneStopServiceService.listAppointments, {
  access: 'self',
  validate: (req, rt) => validateListAppointments(req, rt),
  async handle({ caseRef, partnerId, day }, { rt }) {
    let query = rt.db.selectFrom('one_stop_appointment').selectAll().orderBy('at').orderBy('appointment_id').limit(500);
    if (caseRef) {
      setCaseRef(caseRef);
      query = query.where('case_ref', '=', caseRef);
    }
    if (partnerId) query = query.where('partner_id', '=', partnerId);
    // The desk's day is the day in Koblenz.
    if (day) query = query.where(sql<boolean>`(at at time zone 'Europe/Berlin')::date = ${day}::date`);
    return { appointments: (await query.execute()).map(toAppointment) };
  },
});

function validateListAppointments(req: oneStop.ListAppointmentsRequest, rt: OneStopDesk) {
  const v = new Violations();
  const caseRef = req.caseRef ? caseRefOf(v, req.caseRef) : '';
  const partnerId = v.text('partner_id', req.partnerId, { max: 64, required: false });
  const day = v.isoDate('day', req.day, { required: false });
  if (!caseRef && !partnerId && !day) v.add('case_ref', 'one of case_ref, partner_id or day must be set');
  v.throwIfAny();
  if (partnerId && !rt.partners.byId.has(partnerId)) throw new NotFoundError('partner_id', partnerId, 'partner organisation');
  return { caseRef, partnerId, day };
}
