import { readFileSync } from 'node:fs';
import { common } from '@lotse/contracts';

const { AgeGroup, Purpose } = common;

export interface ProviderEntry {
  providerId: string;
  name: string;
  agencyType: string;
  /** What it takes referrals for; by its agency type when the file lists none. */
  purposes: common.Purpose[];
  /** Languages its staff speak (ISO 639-1); empty: not listed, so no language filter applies. */
  languages: string[];
  /** Areas it serves: which municipalities, which age groups. */
  agreements: { municipalities: string[]; ageGroups: common.AgeGroup[] }[];
}

/** A cooperation agreement between agency types: who may refer to whom, for which purposes. */
export interface AgencyAgreement {
  senderType: string;
  recipientType: string;
  purposes: common.Purpose[];
}

export interface Directory {
  region: string;
  municipalities: { code: string; name: string }[];
  /** Agencies that only refer (the foreign offices); every provider may refer on as well. */
  referrers: { agencyId: string; name: string; agencyType: string }[];
  providers: ProviderEntry[];
  agreements: AgencyAgreement[];
}

const ageGroups: Record<string, common.AgeGroup> = { youth: AgeGroup.AGE_GROUP_YOUTH, adult: AgeGroup.AGE_GROUP_ADULT };

/** Purpose keys as in policy/flows.yaml. */
export const purposeKeys: Record<string, common.Purpose> = {
  'migration-counselling': Purpose.PURPOSE_MIGRATION_COUNSELLING,
  'labour-market-integration': Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
  'competence-assessment': Purpose.PURPOSE_COMPETENCE_ASSESSMENT,
  'language-course': Purpose.PURPOSE_LANGUAGE_COURSE,
  qualification: Purpose.PURPOSE_QUALIFICATION,
  'job-placement': Purpose.PURPOSE_JOB_PLACEMENT,
};

/** What an agency type serves when its directory entry lists no purposes. */
const defaultPurposes: Record<string, common.Purpose[]> = {
  'migration-services': [Purpose.PURPOSE_MIGRATION_COUNSELLING],
  'job-centre': [Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, Purpose.PURPOSE_LANGUAGE_COURSE],
  lotsenhaus: [Purpose.PURPOSE_COMPETENCE_ASSESSMENT, Purpose.PURPOSE_QUALIFICATION, Purpose.PURPOSE_JOB_PLACEMENT],
};

/** Without an agreements section: the original one, foreign office → migration services. */
const defaultAgreements: AgencyAgreement[] = [{ senderType: 'foreign-office', recipientType: 'migration-services', purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING] }];

// The rule is the referrals module's: the hub routes by the same one a sender checks before it refers on.
export { agreementAllows } from '@lotse/referrals';

/** Agency types senderType may refer to for the purpose, by agreement. */
export function recipientTypesFor(agreements: readonly AgencyAgreement[], senderType: string, purpose: common.Purpose): string[] {
  return [...new Set(agreements.filter((a) => a.senderType === senderType && a.purposes.includes(purpose)).map((a) => a.recipientType))];
}

/** Reads and checks a directory file; a broken file stops the hub at start-up, naming the entry. */
export function loadDirectory(path: string): Directory {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  const known = new Set<string>(raw.municipalities.map((m: { code: string }) => m.code));
  const purposesOf = (where: string, keys: unknown[]) =>
    keys.map((k) => {
      const p = purposeKeys[String(k)];
      if (!p) throw new Error(`directory ${path}: ${where} names unknown purpose "${k}"`);
      return p;
    });
  const providers: ProviderEntry[] = raw.providers.map((p: any) => ({
    providerId: p.providerId,
    name: p.name,
    agencyType: p.agencyType,
    purposes: p.purposes ? purposesOf(`provider ${p.providerId}`, p.purposes) : (defaultPurposes[p.agencyType] ?? []),
    languages: p.languages ?? [],
    agreements: p.agreements.map((a: any, i: number) => {
      for (const m of a.municipalities) {
        if (!known.has(m)) throw new Error(`directory ${path}: provider ${p.providerId} agreement ${i} names unknown municipality "${m}"`);
      }
      return {
        municipalities: a.municipalities,
        ageGroups: a.ageGroups.map((g: string) => {
          const group = ageGroups[g];
          if (!group) throw new Error(`directory ${path}: provider ${p.providerId} agreement ${i} names unknown age group "${g}"`);
          return group;
        }),
      };
    }),
  }));
  const agreements: AgencyAgreement[] = raw.agreements
    ? raw.agreements.map((a: any, i: number) => {
        if (!a.senderType || !a.recipientType) throw new Error(`directory ${path}: agreements[${i}] needs senderType and recipientType`);
        return { senderType: a.senderType, recipientType: a.recipientType, purposes: purposesOf(`agreements[${i}]`, a.purposes ?? []) };
      })
    : defaultAgreements;
  return { region: raw.region, municipalities: raw.municipalities, referrers: raw.referrers, providers, agreements };
}

/** An agency's name as the directory gives it (its id where the directory does not know it). */
export function agencyNames(directory: Directory): (agencyId: string) => string {
  const names = new Map([...directory.referrers.map((r) => [r.agencyId, r.name] as const), ...directory.providers.map((p) => [p.providerId, p.name] as const)]);
  return (agencyId) => names.get(agencyId) ?? agencyId;
}

/** An agency's type as the directory gives it. */
export function agencyTypes(directory: Directory): (agencyId: string) => string | undefined {
  const types = new Map([...directory.referrers.map((r) => [r.agencyId, r.agencyType] as const), ...directory.providers.map((p) => [p.providerId, p.agencyType] as const)]);
  return (agencyId) => types.get(agencyId);
}
