// What a running journey has done so far, and what the hub must show for it at the end: filled in
// by the runner step by step, read by the progress line and the accounting.
import type { common } from '@lotse/contracts';
import type { Plan } from './journey-plan.js';

/** What the hub must show for the journey at the end. */
export interface Expectation {
  outcome: string;
  /** The case summary's final status is one of these … */
  statuses: common.ReferralStatus[];
  /** … or, for an unanswered referral, escalation counts too. */
  escalatedCounts?: boolean;
  /** Event types that must appear on the timeline, in this order (others may come between). */
  events: string[];
}

export interface JourneyRecord {
  plan: Plan;
  state: 'planned' | 'running' | 'done' | 'failed';
  atHub: boolean;
  newcomerId?: string;
  caseRef?: string;
  referralId?: string;
  providers: string[];
  hubLatencyMs?: number;
  /** From each caseworker decision's answer (accept, decline, placement) to its step on the hub's timeline. */
  decisionLatenciesMs: number[];
  expectation?: Expectation;
  /** Steps left out because the running network lacks the RPC. */
  skipped: string[];
  error?: string;
}

export interface JourneyHooks {
  onAtHub(record: JourneyRecord): void;
}
