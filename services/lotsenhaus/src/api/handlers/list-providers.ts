import { lotsenhaus } from '@lotse/contracts';
import { hubReads } from '../../db/hub-reads.js';
import { unary } from '../read-side.js';

/** The providers of the network with what they serve and their free capacity as last reported; network data. */
export const listProviders = unary(lotsenhaus.LotsenhausServiceService.listProviders, {
  access: 'network',
  async handle(_req, { rt }) {
    const capacity = await hubReads.capacity(rt.db);
    return {
      providers: rt.directory.providers.map((p) =>
        lotsenhaus.Provider.fromPartial({
          providerId: p.providerId,
          name: p.name,
          agencyType: p.agencyType,
          municipalities: [...new Set(p.agreements.flatMap((a) => a.municipalities))],
          ageGroups: [...new Set(p.agreements.flatMap((a) => a.ageGroups))],
          purposes: p.purposes,
          staffLanguages: p.languages,
          capacity: capacity.filter((c) => c.provider_id === p.providerId).map((c) => ({ kind: c.kind, free: c.free, changedAt: c.changed_at })),
        }),
      ),
    };
  },
});
