import { common, events } from '@lotse/contracts';
import type { AgencyContext } from '@lotse/runtime';
import type { Transaction } from 'kysely';

/** The most free places an agency may announce (more is a typing error, not capacity). */
export const maxFreeCapacity = 10_000;

/** What an agency publishes as its free capacity, and the field of SetCapacity (request and response) that holds it. */
export interface CapacityOptions<Req> {
  kind: common.CapacityKind;
  field: Exclude<keyof Req, 'requestId'> & string;
}

/** Tells the hub how much this agency can take now (no case, no personal data); routing weighs it. */
export async function publishCapacity<DB>(rt: AgencyContext<DB>, trx: Transaction<DB>, kind: common.CapacityKind, free: number): Promise<void> {
  await rt.publish(trx, events.CapacityChanged, { providerId: rt.agencyId, kind, free, changedAt: rt.now() }, '');
}
