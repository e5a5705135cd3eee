// The receiving and referring side of the referral workflow, shared by the receiving agencies
// (migration services, job centres, the one-stop desk) and the referrers: intake, the
// recipient's decisions, the consented fetch of the newcomer's data, the cooperation agreements,
// referring on and the re-route rule. It owns its tables (tables.ts, migrations.ts); a service
// composes it with a small adapter: its inbox table, its status enum, its messages, the purposes
// it serves and its own steps.
export { agreementAllows, hubAgreements, staticAgreements, type Agreement, type AgreementSource } from './agreements.js';
export type { OutgoingReferralFields, ReferralContracts, ReferralHandlerOptions, ReferralMethods } from './api.js';
export { maxFreeCapacity, publishCapacity, type CapacityOptions } from './capacity.js';
export { referralInbox, routedReferrals, type InboxAdapter, type ReferralInbox, type RoutedIntake } from './inbox.js';
export { addReferralWorkflow, createNewcomerRecordTable, createReceivedReferralTable, indexReceivedDataByConsent, nameReceivedReferralTable, RECEIVED_REFERRAL_TABLE } from './migrations.js';
export { outgoingReferrals, type ReferOn } from './outgoing.js';
export { ownerClients, type ConsentedFetchOptions, type OwnerClients } from './consented-fetch.js';
export {
  eraseSubject as eraseReceivedData,
  expire as expireReceivedData,
  newcomerDataFields,
  readReceivedData,
  receivedBefore,
  receivedHoldings,
  receivedReferralFields,
  referralsWithData,
} from './received-data.js';
export type { ReceivingAgency, UnaryMethod } from './receiving-agency.js';
export { receivingHandlersFor } from './receiving-handlers.js';
export { referralEvents } from './subscriptions.js';
export type { NewcomerRecordRow, NewcomerRecordTable, OutgoingReferralRow, OutgoingReferralTable, ReceivedReferralRow, ReceivedReferralTable } from './tables.js';
export { inboxActionProblem, takesReportedStatus, withdrawalProblem, type InboxAction, type InboxStatuses, type ReferralStanding } from './transitions.js';
export { validateReferralCall, type ReferralCall, type RequestReferralCall } from './validate.js';
