// What a receiving agency's test gives the shared referral workflow suite: its create(), its
// client, and what is its own (inbox table, statuses, capacity field).
import type { common } from '@lotse/contracts';
import type { Kysely } from '@lotse/db';
import type { TlsIdentity } from '@lotse/grpc';
import type { TestAgencyConfig } from './network.js';

type Call<Req, Res> = (request: Req) => Promise<Res>;
type ReferralCall = { requestId: string; referralId: string };
interface Received {
  referralId: string;
  caseRef: string;
  status: number;
  declineReason: number;
  outcome: number;
  decidedAt?: Date | undefined;
}
interface Outgoing {
  referralId: string;
  caseRef: string;
  sourceReferralId: string;
  purpose: number;
  type: number;
  recipientType: string;
  status: number;
}

/** The workflow's calls of an agency's gRPC client (its generated request types fit these). */
export interface ReferralWorkflowClient {
  acceptReferral: Call<ReferralCall, { referral?: Received | undefined }>;
  declineReferral: Call<ReferralCall & { reason: common.DeclineReason }, { referral?: Received | undefined }>;
  completeReferral: Call<ReferralCall & { outcome: common.ReferralOutcome }, { referral?: Received | undefined }>;
  requestReferral: Call<ReferralCall & { caseRef: string; purpose: common.Purpose; type: common.ReferralType; recipientType: string }, { referral?: Outgoing | undefined }>;
  withdrawReferral: Call<ReferralCall, { referral?: Outgoing | undefined }>;
  /** The request's capacity field differs per agency (see capacity.field). */
  setCapacity: Call<any, any>;
  close(): void;
}

/** What the suite gives the service to start with: its config apart from what the service adds. */
export interface SuiteAgencyConfig extends Omit<TestAgencyConfig, 'logLevel'> {
  logLevel: 'silent';
  hubAgencyId: string;
  /** The agency holding the newcomers' data, for a service that is configured with it. */
  dataOwnerId: string;
}

/** The cooperation agreements the service is to work with (instead of asking a hub). */
export interface SuiteAgreements {
  agreements(): Promise<{ senderType: string; recipientType: string; purposes: common.Purpose[] }[]>;
}

export interface Service {
  start(): Promise<{ ctx: { db: Kysely<any> }; grpcPort: number }>;
  stop(): Promise<void>;
}

export interface ReferralWorkflowTarget {
  agencyType: string;
  /** The service's create(), with what it needs beyond the suite's config. */
  create(config: SuiteAgencyConfig, overrides: { agreements: SuiteAgreements }): Service;
  client(address: string, identity: TlsIdentity): ReferralWorkflowClient;
  /** The service's table of referrals routed to it. */
  inboxTable: string;
  /** Its status enum. */
  statuses: { pending: number; accepted: number; declined: number; withdrawn: number; completed: number };
  /** A purpose it takes routed referrals for. */
  routedPurpose: common.Purpose;
  /** A referral on that an agreement allows it. */
  referOn: { recipientType: string; purpose: common.Purpose };
  /** Whom it names to the hub as the data owner when the hub named none: the referrer, or its configured owner. */
  unnamedOwner: 'referrer' | 'configured';
  /** Its SetCapacity field (ts-proto name, e.g. freeCounsellingSlots) and what it announces. */
  capacity: { field: string; kind: common.CapacityKind };
}
