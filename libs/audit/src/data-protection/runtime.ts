import type { dataProtection } from '@lotse/contracts';
import type { Kysely, Transaction } from '@lotse/db';
import type { CallContext } from '@lotse/grpc';
import { handlersFor, type HandlerRuntime } from '@lotse/runtime';
import type { RetentionResult } from '../retention.js';

// What the DataProtectionService's handlers are given: the service's own parts (deps) and who
// besides the deployment itself may ask for what.

/** Agency types (certificate OU) that may verify any agency's chain and read its data-subject reports. */
export const AUDITOR_AGENCY_TYPE = 'auditor';
export const OPERATOR_AGENCY_TYPE = 'operator';

/** The legal basis of answering a data subject's access request. */
export const ACCESS_REQUEST_BASIS = 'Art. 15 GDPR';

/** What a service tells the generic API about its own tables. */
export interface DataProtectionDeps<DB> {
  agencyId: string;
  agencyType: string;
  db: Kysely<DB>;
  now(): Date;
  /** What this agency holds about a case: kinds of record, never the values. */
  holdings(trx: Transaction<DB>, caseRef: string): Promise<dataProtection.Holding[]>;
  /** The agencies that own the case's data as this agency knows them (e.g. the referring foreign office). */
  owners(trx: Transaction<DB>, caseRef: string): Promise<string[]>;
  /** Erasures asked for and not done yet (consent withdrawals); done ones come from the audit log. */
  pendingErasures?(trx: Transaction<DB>, caseRef: string): Promise<dataProtection.Erasure[]>;
  runRetention?(): Promise<RetentionResult[]>;
}

/** The deps with a plain transaction (no events go out from here). */
export type DataProtectionRuntime<DB = any> = DataProtectionDeps<DB> & HandlerRuntime<DB>;

/** The service's handlers are declared with these (see libs/runtime's declared handlers). */
export const { unary } = handlersFor<DataProtectionRuntime>();

/** The deployment itself, or a caller of one of these agency types. */
export function isSelfOr(call: CallContext, agencyId: string, types: readonly string[]): boolean {
  return call.caller.agencyId === agencyId || types.includes(call.caller.agencyType);
}
