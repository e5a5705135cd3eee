import { oneStop } from '@lotse/contracts';
import { Violations } from '@lotse/grpc';
import { unary } from '../desk-records.js';
import { toPartnerMessage } from '../partners.js';

/** The desk's partner organisations, all or those with an offer of one kind. */
export const listPartners = unary(oneStop.OneStopServiceService.listPartners, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    v.enumValue('kind', req.kind, oneStop.OfferKind, { required: false });
    v.throwIfAny();
    return req;
  },
  async handle({ kind }, { rt }) {
    const list = kind ? rt.partners.list.filter((p) => p.offers.some((o) => o.kind === kind)) : rt.partners.list;
    return { partners: list.map(toPartnerMessage) };
  },
});
