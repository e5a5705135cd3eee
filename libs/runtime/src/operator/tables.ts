import type { Generated } from 'kysely';

export type OperatorActionKind = 'replay' | 'discard' | 'replay_failed';

/** One row per replay or discard an operator asked for (and per replay that failed again). */
export interface OperatorActionTable {
  id: Generated<number>;
  at: Generated<Date>;
  action: OperatorActionKind;
  parked_id: number;
  operator_agency_id: string;
  operator_name: string;
  reason: string;
  request_id: string;
}

export interface OperatorTables {
  operator_action: OperatorActionTable;
}
