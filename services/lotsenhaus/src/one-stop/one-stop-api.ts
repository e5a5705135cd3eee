import { oneStop } from '@lotse/contracts';
import type { AsyncHandlers } from '@lotse/grpc';
import { declaredService, type AgencyContext } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { OneStopDesk } from './desk-records.js';
import { bookAppointment } from './handlers/book-appointment.js';
import { cancelAppointment } from './handlers/cancel-appointment.js';
import { getCompetenceAssessment } from './handlers/get-competence-assessment.js';
import { listAppointments } from './handlers/list-appointments.js';
import { listOneStopReferrals } from './handlers/list-one-stop-referrals.js';
import { listPartners } from './handlers/list-partners.js';
import { recordCompetenceAssessment } from './handlers/record-competence-assessment.js';
import { recordIntake } from './handlers/record-intake.js';
import { referOn } from './handlers/refer-on.js';
import type { Partners } from './partners.js';
import type { OneStopDb } from './schema.js';

const S = oneStop.OneStopServiceService;

/**
 * The one-stop desk's API: only the Lotsenhaus's own caseworkers (its own certificate) call it.
 * One declared handler per RPC (one-stop/handlers/), checked against the matrix at start.
 */
export function oneStopApi(hub: AgencyContext<HubDb>, partners: Partners): AsyncHandlers<typeof S> {
  // The hub's deployment holds the desk's tables beside its own.
  const desk: OneStopDesk = { ...(hub as unknown as AgencyContext<OneStopDb>), partners };
  return declaredService(desk, S, {
    listPartners,
    listOneStopReferrals,
    recordIntake,
    bookAppointment,
    cancelAppointment,
    listAppointments,
    recordCompetenceAssessment,
    getCompetenceAssessment,
    referOn,
  });
}
