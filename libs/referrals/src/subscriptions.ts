import { events } from '@lotse/contracts';
import { on, type AgencyContext, type EventHandler } from '@lotse/runtime';
import type { ReferralInbox } from './inbox.js';
import { outgoingReferrals } from './outgoing.js';
import type { ReceivedReferralRow } from './tables.js';

/**
 * The hub's events of the referral workflow that a receiving agency handles, to spread into its
 * subscription to what the hub addresses to it (lotse.<hub>.*.<agency-id>).
 */
export function referralEvents<DB, Row extends ReceivedReferralRow>(rt: AgencyContext<DB>, inbox: ReferralInbox<DB, Row>): EventHandler<DB>[] {
  return [
    on(events.ReferralRouted, inbox.ReferralRouted),
    on(events.ReferralWithdrawn, inbox.ReferralWithdrawn),
    on(events.ReferralStatusChanged, outgoingReferrals(rt).ReferralStatusChanged),
  ];
}
