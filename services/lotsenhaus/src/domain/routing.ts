import { common } from '@lotse/contracts';
import { agreementAllows, type AgencyAgreement, type ProviderEntry } from './directory.js';

const { Purpose, CapacityKind } = common;

export interface RoutingRequest {
  municipality: string;
  ageGroup: common.AgeGroup;
  /** Agency ids or agency types the newcomer's consent names. */
  consentedRecipients: string[];
  preferredProviderId?: string;
  /** Unspecified (older referrers): migration counselling. */
  purpose?: common.Purpose;
  /** The referring agency's type; with agreements, only recipients an agreement allows. */
  senderType?: string;
  /** Only providers of this agency type; empty: any type the agreements allow. */
  recipientType?: string;
  /**
   * Languages the newcomer speaks: providers whose staff speak one of them (or that list no
   * languages) come first; where none with capacity does, the referral still goes out.
   */
  languages?: string[];
  /** Providers that already declined this referral: never again. */
  excluded?: ReadonlySet<string>;
}

/** Free capacity per provider and kind, as last published; absent means not published. */
export type CapacityMap = ReadonlyMap<string, ReadonlyMap<common.CapacityKind, number>>;

export interface Skipped {
  providerId: string;
  reason: string;
}

export type RoutingDecision =
  | { providerId: string; reason: 'preferred' | 'agreement'; skipped: Skipped[] }
  | { providerId: undefined; reason: string; skipped: Skipped[] };

/** The capacity that limits a referral for this purpose at this kind of provider. */
export function capacityKindFor(purpose: common.Purpose, agencyType: string): common.CapacityKind | undefined {
  if (purpose === Purpose.PURPOSE_LANGUAGE_COURSE) return CapacityKind.CAPACITY_KIND_LANGUAGE_COURSE_PLACES;
  if (agencyType === 'migration-services' || agencyType === 'lotsenhaus') return CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS;
  return undefined;
}

const capacityWords: Record<number, string> = {
  [CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS]: 'no free counselling slots',
  [CapacityKind.CAPACITY_KIND_LANGUAGE_COURSE_PLACES]: 'no free language-course places',
};

const purposeOf = (r: RoutingRequest) => r.purpose || Purpose.PURPOSE_MIGRATION_COUNSELLING;
const covers = (p: ProviderEntry, r: RoutingRequest) => p.agreements.some((a) => a.municipalities.includes(r.municipality) && a.ageGroups.includes(r.ageGroup));
/** Whether the provider's staff speak a language of the newcomer; one that lists none is not ruled out. */
const speaksLanguageOf = (p: ProviderEntry, r: RoutingRequest) => !r.languages?.length || !p.languages.length || p.languages.some((l) => r.languages!.includes(l));

/**
 * Providers that may take the referral: an agreement between the agency types allows the
 * purpose, the provider serves the purpose, covers the area and age group, the consent names it,
 * and it has not declined already. Languages do not rule a provider out; `route` prefers those
 * that speak one of the newcomer's.
 */
export function eligibleProviders(request: RoutingRequest, providers: ProviderEntry[], agreements?: readonly AgencyAgreement[]): ProviderEntry[] {
  const purpose = purposeOf(request);
  return providers.filter(
    (p) =>
      (!request.recipientType || p.agencyType === request.recipientType) &&
      (!agreements || !request.senderType || agreementAllows(agreements, request.senderType, p.agencyType, purpose)) &&
      p.purposes.includes(purpose) &&
      covers(p, request) &&
      (request.consentedRecipients.includes(p.providerId) || request.consentedRecipients.includes(p.agencyType)) &&
      !request.excluded?.has(p.providerId),
  );
}

/**
 * Routes to exactly one provider: the newcomer's choice if it is eligible and has capacity,
 * otherwise the eligible provider with capacity that speaks a language of the newcomer (any with
 * capacity, if none does) and has the fewest referrals waiting (ties by id, so the choice is
 * repeatable). Providers without capacity are skipped, and the decision says so; the languages
 * never appear in the decision (it goes onto the timeline).
 */
export function route(
  request: RoutingRequest,
  providers: ProviderEntry[],
  pending: ReadonlyMap<string, number>,
  options: { agreements?: readonly AgencyAgreement[]; capacity?: CapacityMap } = {},
): RoutingDecision {
  const purpose = purposeOf(request);
  const eligible = eligibleProviders(request, providers, options.agreements);
  if (eligible.length === 0) {
    if (options.agreements && request.senderType && !providers.some((p) => (!request.recipientType || p.agencyType === request.recipientType) && agreementAllows(options.agreements!, request.senderType!, p.agencyType, purpose))) {
      return { providerId: undefined, reason: `no cooperation agreement lets ${request.senderType} refer to ${request.recipientType || 'any agency'} for ${common.purposeToJSON(purpose)}`, skipped: [] };
    }
    const byArea = providers.filter((p) => p.purposes.includes(purpose) && covers(p, request));
    const reason =
      byArea.length === 0
        ? `no cooperation agreement covers ${request.municipality} for ${common.ageGroupToJSON(request.ageGroup)}`
        : byArea.every((p) => request.excluded?.has(p.providerId))
          ? 'every provider whose agreement covers this case has declined it'
          : 'the consent names none of the providers whose agreement covers this case';
    return { providerId: undefined, reason, skipped: [] };
  }
  const skipped: Skipped[] = [];
  const withCapacity = eligible.filter((p) => {
    const kind = capacityKindFor(purpose, p.agencyType);
    const free = kind === undefined ? undefined : options.capacity?.get(p.providerId)?.get(kind);
    if (free === 0) {
      skipped.push({ providerId: p.providerId, reason: capacityWords[kind!]! });
      return false;
    }
    return true;
  });
  if (withCapacity.length === 0) return { providerId: undefined, reason: 'no eligible provider has free capacity', skipped };
  const preferred = withCapacity.find((p) => p.providerId === request.preferredProviderId);
  if (preferred) return { providerId: preferred.providerId, reason: 'preferred', skipped };
  const speaking = withCapacity.filter((p) => speaksLanguageOf(p, request));
  const [first] = [...(speaking.length ? speaking : withCapacity)].sort(
    (a, b) => (pending.get(a.providerId) ?? 0) - (pending.get(b.providerId) ?? 0) || a.providerId.localeCompare(b.providerId),
  );
  return { providerId: first!.providerId, reason: 'agreement', skipped };
}
