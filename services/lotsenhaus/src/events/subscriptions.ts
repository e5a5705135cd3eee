// Which events the hub follows from which agency's stream, declared once.
import { events, jobCentreEvents } from '@lotse/contracts';
import { agencySubjects } from '@lotse/messaging';
import { on, subscribe, type AgencyContext, type EventHandler, type Subscription } from '@lotse/runtime';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';
import type { caseFlow } from './case-flow.js';


/**
 * Every agency of the directory may refer (providers refer on); providers also report on the
 * referrals routed to them, and job centres their case steps. One subscription per agency stream
 * — the Lotsenhaus agency's included, which shares this deployment.
 *
 * The one-stop desk is a module of its own: it takes in what the hub routes to the Lotsenhaus in
 * its own subscription, with its own message inbox (module key `lotsenhaus:one-stop`), so the
 * hub's subscription to the same stream and the desk's each apply an event once.
 */
export function hubSubscriptions(
  ctx: AgencyContext<HubDb>,
  directory: Directory,
  f: ReturnType<typeof caseFlow>,
  desk: () => Subscription<HubDb>,
): Subscription<HubDb>[] {
  const referring = [
    on(events.ReferralRequested, f.ReferralRequested),
    on(events.ReferralWithdrawnByReferrer, f.ReferralWithdrawnByReferrer),
  ];
  const providing = [
    on(events.ReferralReceived, f.ReferralReceived),
    on(events.ReferralAccepted, f.ReferralAccepted),
    on(events.ReferralDeclined, f.ReferralDeclined),
    on(events.ReferralCompleted, f.ReferralCompleted),
    on(events.NewcomerDataReceived, f.NewcomerDataReceived),
    on(events.FirstContactRecorded, f.FirstContactRecorded),
    on(events.ErasureConfirmed, f.ErasureConfirmed),
    on(events.CapacityChanged, f.CapacityChanged),
  ];
  const jobCentreSteps = [
    on(jobCentreEvents.CustomerRegistered, f.CustomerRegistered),
    on(jobCentreEvents.LanguageCourseFundingDecided, f.LanguageCourseFundingDecided),
    on(jobCentreEvents.CooperationPlanAgreed, f.CooperationPlanAgreed),
    on(jobCentreEvents.PlacementRecorded, f.PlacementRecorded),
    on(jobCentreEvents.JobCentreCaseClosed, f.JobCentreCaseClosed),
  ];
  const streams = new Map<string, readonly EventHandler<HubDb>[]>([
    ...directory.referrers.map((r) => [r.agencyId, [...referring, on(events.ConsentWithdrawn, f.ConsentWithdrawn)]] as const),
    ...directory.providers
      .filter((p) => !directory.referrers.some((r) => r.agencyId === p.providerId))
      .map((p) => [p.providerId, [...referring, ...providing, ...(p.agencyType === 'job-centre' ? jobCentreSteps : [])]] as const),
  ]);
  return [desk(), ...[...streams].map(([id, handlers]) => subscribe<HubDb>(id, agencySubjects(id), handlers))];
}
