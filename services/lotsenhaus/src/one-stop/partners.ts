import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { oneStop } from '@lotse/contracts';

/** The eight organisations under the Lotsenhaus's roof and their offers (demo data of the Koblenz region). */
export const defaultPartnersFile = fileURLToPath(new URL('./partners.json', import.meta.url));

const kinds: Record<string, oneStop.OfferKind> = {
  counselling: oneStop.OfferKind.OFFER_KIND_COUNSELLING,
  'competence-assessment': oneStop.OfferKind.OFFER_KIND_COMPETENCE_ASSESSMENT,
  qualification: oneStop.OfferKind.OFFER_KIND_QUALIFICATION,
  'job-placement': oneStop.OfferKind.OFFER_KIND_JOB_PLACEMENT,
};

export interface PartnerOffer {
  code: string;
  title: string;
  kind: oneStop.OfferKind;
}

export interface OneStopPartner {
  partnerId: string;
  name: string;
  contactRole: string;
  /** The partner's own deployment in the network, if it runs one. */
  agencyId?: string;
  offers: PartnerOffer[];
}

export interface Partners {
  house: string;
  list: OneStopPartner[];
  byId: ReadonlyMap<string, OneStopPartner>;
}

/** Reads and checks the partner file; a bad file stops start-up with one line naming the entry. */
export function loadPartners(file = defaultPartnersFile): Partners {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { house: string; partners: (Omit<OneStopPartner, 'offers'> & { offers: { code: string; title: string; kind: string }[] })[] };
  const list = raw.partners.map((p) => {
    if (!p.partnerId || !p.name || !p.contactRole) throw new Error(`${file}: partner ${p.partnerId || '?'} needs partnerId, name and contactRole`);
    const codes = new Set<string>();
    const offers = p.offers.map((o) => {
      const kind = kinds[o.kind];
      if (!kind) throw new Error(`${file}: offer ${o.code} of ${p.partnerId} has unknown kind "${o.kind}"`);
      if (codes.has(o.code)) throw new Error(`${file}: offer ${o.code} appears twice at ${p.partnerId}`);
      codes.add(o.code);
      return { code: o.code, title: o.title, kind };
    });
    return { partnerId: p.partnerId, name: p.name, contactRole: p.contactRole, agencyId: p.agencyId || undefined, offers };
  });
  const byId = new Map(list.map((p) => [p.partnerId, p]));
  if (byId.size !== list.length) throw new Error(`${file}: a partnerId appears twice`);
  return { house: raw.house, list, byId };
}

export function toPartnerMessage(p: OneStopPartner): oneStop.Partner {
  return oneStop.Partner.fromPartial({ partnerId: p.partnerId, name: p.name, contactRole: p.contactRole, agencyId: p.agencyId ?? '', offers: p.offers });
}
