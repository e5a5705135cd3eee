import { lotsenhaus } from '@lotse/contracts';
import { unary } from '../read-side.js';

/** The cooperation agreements the hub routes by (who may refer to whom, for which purposes); network data. */
export const listAgreements = unary(lotsenhaus.LotsenhausServiceService.listAgreements, {
  access: 'network',
  async handle(_req, { rt }) {
    return {
      agreements: rt.directory.agreements.map((a) => lotsenhaus.Agreement.fromPartial({ senderType: a.senderType, recipientType: a.recipientType, purposes: a.purposes })),
    };
  },
});
