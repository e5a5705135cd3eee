import { readFileSync } from 'node:fs';
import { common } from '@lotse/contracts';

const { AgeGroup } = common;

export interface ProviderEntry {
  providerId: string;
  name: string;
  agencyType: string;
  /** Cooperation agreements: which municipalities, which age groups. */
  agreements: { municipalities: string[]; ageGroups: common.AgeGroup[] }[];
}

export interface Directory {
  region: string;
  municipalities: { code: string; name: string }[];
  referrers: { agencyId: string; name: string; agencyType: string }[];
  providers: ProviderEntry[];
}

const ageGroups: Record<string, common.AgeGroup> = { youth: AgeGroup.AGE_GROUP_YOUTH, adult: AgeGroup.AGE_GROUP_ADULT };

/** Reads and checks a directory file; a broken file stops the hub at start-up, naming the entry. */
export function loadDirectory(path: string): Directory {
  const raw = JSON.parse(readFileSync(path, 'utf8'));
  const known = new Set<string>(raw.municipalities.map((m: { code: string }) => m.code));
  const providers: ProviderEntry[] = raw.providers.map((p: any) => ({
    providerId: p.providerId,
    name: p.name,
    agencyType: p.agencyType,
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
  return { region: raw.region, municipalities: raw.municipalities, referrers: raw.referrers, providers };
}
