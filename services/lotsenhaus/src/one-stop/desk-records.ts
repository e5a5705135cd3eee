import { actorOfCall, appendAudit, type Details } from '@lotse/audit';
import { common } from '@lotse/contracts';
import { channel, requireFlow } from '@lotse/flows';
import { NotFoundError, PermissionDeniedError, setCaseRef, type CallContext, type Violations } from '@lotse/grpc';
import { handlersFor, type AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';
import { consentWithdrawn, recordDeskStep } from '../desk-port.js';
import type { Partners } from './partners.js';
import type { OneStopDb } from './schema.js';

// What several of the desk's handlers share: its runtime, the rules for codes and case
// references, and the reads and writes every step at the desk makes.
//
// Stored answers: the desk's mutating handlers declare `idempotent: { storedAs: 'OneStop/<Method>' }`.
// That key has been the desk's since it shares the hub's idempotency table; the bare method name
// would leave the answers stored before unable to answer their retries.

/** The hub's deployment as the desk sees it: its own tables beside the hub's, and its partners. */
export interface OneStopDesk extends AgencyContext<OneStopDb> {
  partners: Partners;
}
export type Trx = Transaction<OneStopDb>;

/** The desk's handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<OneStopDesk>();

export const codePattern = /^[A-Z][A-Z0-9_-]{1,31}$/;
export const codeExpected = 'a code of 2 to 32 capital letters, digits, _ or - (no free text)';
export const maxEntries = 20;
const caseRefPattern = /^[A-Za-z0-9._:-]{1,64}$/;

export function caseRefOf(v: Violations, value: string): string {
  return v.pattern('case_ref', value, caseRefPattern, 'a case reference of 1 to 64 letters, digits or . _ : -');
}

/** The newcomer was at the desk: appointments, assessments and referrals on need an intake first. */
export async function requireIntake(trx: Trx, caseRef: string) {
  setCaseRef(caseRef);
  const intake = await trx.selectFrom('one_stop_intake').selectAll().where('case_ref', '=', caseRef).orderBy('recorded_at', 'desc').executeTakeFirst();
  if (!intake) throw new NotFoundError('case_ref', caseRef, 'intake at the one-stop desk for case');
  return intake;
}

export async function refuseWithdrawnConsent(trx: Trx, consentId: string) {
  if (await consentWithdrawn(trx, consentId)) throw new PermissionDeniedError(`consent ${consentId} was withdrawn; nothing may be recorded or referred under it`);
}

export interface StepAtDesk {
  eventId: string;
  caseRef: string;
  eventType: string;
  summary: string;
  referralId?: string;
}

/** The step on the hub's one case timeline, in the step's own transaction. */
export async function recordStep(rt: OneStopDesk, trx: Trx, step: StepAtDesk) {
  await recordDeskStep(trx, { ...step, referralId: step.referralId ?? '', agencyId: rt.agencyId, occurredAt: rt.now() });
}

/** An assessment holds language data: the flow table's row for this call must allow it. */
export function requireAssessmentFlow(rt: OneStopDesk, ctx: CallContext) {
  requireFlow({
    sender: rt.agencyType,
    recipient: ctx.caller.agencyType,
    channel: channel.grpc(ctx.method),
    purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
    categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES],
  });
}

export interface AssessmentAccess {
  action: 'write' | 'read';
  caseRef: string;
  consentId: string;
  details: Details;
  at: Date;
}

/** An assessment written or read, in the hash-chained audit log (language data, under its consent). */
export async function auditAssessment(trx: Trx, ctx: CallContext, access: AssessmentAccess) {
  await appendAudit(trx, {
    ...actorOfCall(ctx),
    action: access.action,
    subjectRef: access.caseRef,
    categories: [common.DataCategory.DATA_CATEGORY_LANGUAGES],
    purpose: common.Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
    legalBasis: `consent:${access.consentId}`,
    details: access.details,
    at: access.at,
  });
}
