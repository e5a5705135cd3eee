import { common } from '@lotse/contracts';
import type { ProviderEntry } from './directory.js';

export interface RoutingRequest {
  municipality: string;
  ageGroup: common.AgeGroup;
  /** Agency ids or agency types the newcomer's consent names. */
  consentedRecipients: string[];
  preferredProviderId?: string;
}

export type RoutingDecision = { providerId: string; reason: 'preferred' | 'agreement' } | { providerId: undefined; reason: string };

/** Providers whose cooperation agreement covers the area and age group, and whom the consent names. */
export function eligibleProviders(request: RoutingRequest, providers: ProviderEntry[]): ProviderEntry[] {
  return providers.filter(
    (p) =>
      p.agreements.some((a) => a.municipalities.includes(request.municipality) && a.ageGroups.includes(request.ageGroup)) &&
      (request.consentedRecipients.includes(p.providerId) || request.consentedRecipients.includes(p.agencyType)),
  );
}

/**
 * Routes to exactly one provider: the newcomer's choice if it is eligible, otherwise the
 * eligible provider with the fewest referrals waiting (ties by id, so the choice is repeatable).
 */
export function route(request: RoutingRequest, providers: ProviderEntry[], pending: ReadonlyMap<string, number>): RoutingDecision {
  const eligible = eligibleProviders(request, providers);
  if (eligible.length === 0) {
    const byAgreement = providers.some((p) =>
      p.agreements.some((a) => a.municipalities.includes(request.municipality) && a.ageGroups.includes(request.ageGroup)),
    );
    return {
      providerId: undefined,
      reason: byAgreement
        ? 'the consent names none of the providers whose agreement covers this case'
        : `no cooperation agreement covers ${request.municipality} for ${common.ageGroupToJSON(request.ageGroup)}`,
    };
  }
  const preferred = eligible.find((p) => p.providerId === request.preferredProviderId);
  if (preferred) return { providerId: preferred.providerId, reason: 'preferred' };
  const [first] = [...eligible].sort(
    (a, b) => (pending.get(a.providerId) ?? 0) - (pending.get(b.providerId) ?? 0) || a.providerId.localeCompare(b.providerId),
  );
  return { providerId: first!.providerId, reason: 'agreement' };
}
