// The referral workflow shared by the receiving agencies (migration services, job centres, the
// one-stop desk). A service composes it with a small adapter: its inbox table, its status enum,
// its messages, the purposes it serves and its own steps.
export { referralApi, type OutgoingReferralFields, type ReferralApiOptions, type ReferralContracts } from './api.js';
export { maxFreeCapacity, publishCapacity, type CapacityOptions } from './capacity.js';
export { referralInbox, routedReferrals, type InboxAdapter, type ReferralInbox, type RoutedIntake } from './inbox.js';
export { outgoingReferrals, type ReferOn } from './outgoing.js';
export { referralEvents } from './subscriptions.js';
export type { OutgoingReferralRow, OutgoingReferralTable, ReceivedReferralRow, ReceivedReferralTable } from './tables.js';
export { inboxActionProblem, takesReportedStatus, withdrawalProblem, type InboxAction, type InboxStatuses } from './transitions.js';
export { validateReferralCall, type ReferralCall, type RequestReferralCall } from './validate.js';
