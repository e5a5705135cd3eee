import type { Generated } from 'kysely';

export type OperatorActionKind = 'replay' | 'discard' | 'replay_failed' | 'reconcile';

/** One row per replay, discard or reconciliation an operator asked for (and per replay that failed again). */
export interface OperatorActionTable {
  id: Generated<number>;
  at: Generated<Date>;
  action: OperatorActionKind;
  /** None for a reconciliation: it concerns the outbox, not a parked message. */
  parked_id: number | null;
  operator_agency_id: string;
  operator_name: string;
  /** The signed-in person's verified staff id (token `sub`); null for a call as software. */
  operator_sub: string | null;
  operator_roles: string[] | null;
  reason: string;
  request_id: string;
}

export interface OperatorTables {
  operator_action: OperatorActionTable;
}
