// The network as the hub routes in it: the cooperation agreements, the providers and their capacity.
import { lotsenhaus } from '@lotse/contracts';
import type { AsyncHandlers } from '@lotse/grpc';
import type { Kysely } from 'kysely';
import { hubReads } from '../db/hub-reads.js';
import type { HubDb } from '../db/schema.js';
import type { Directory } from '../domain/directory.js';

type Handlers = AsyncHandlers<typeof lotsenhaus.LotsenhausServiceService>;

export function networkReads(db: Kysely<HubDb>, directory: Directory): Pick<Handlers, 'listAgreements' | 'listProviders'> {
  return {
    async listAgreements() {
      return {
        agreements: directory.agreements.map((a) => lotsenhaus.Agreement.fromPartial({ senderType: a.senderType, recipientType: a.recipientType, purposes: a.purposes })),
      };
    },

    async listProviders() {
      const capacity = await hubReads.capacity(db);
      return {
        providers: directory.providers.map((p) =>
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
  };
}
