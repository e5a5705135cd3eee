import { operator } from '@lotse/contracts';
import { once, Violations } from '@lotse/grpc';
import { discardParked, getParked } from '@lotse/messaging';
import { authorise, openParked, parkedMessageRequest, record, toProto, unary } from '../parked-records.js';

/** An operator gives up on a parked message, with a reason; audited with the discard. */
export const discardParkedMessage = unary(operator.OperatorServiceService.discardParkedMessage, {
  access: 'network',
  async handle(request, { rt, ctx }) {
    authorise(ctx);
    const v = new Violations();
    const { requestId, id, operatorName } = parkedMessageRequest(v, request);
    const reason = v.text('reason', request.reason, { required: false, max: 1000 });
    v.throwIfAny();
    return rt.transact((trx) =>
      // Keyed on the full method path, as this API always stored its answers (see operator-api.ts).
      once(trx, { method: ctx.method, requestId, request, requestCodec: operator.DiscardParkedMessageRequest }, operator.DiscardParkedMessageResponse, async () => {
        await openParked(trx, id, request.parkedId);
        await discardParked(trx, id);
        await record(trx, { action: 'discard', parkedId: id, call: ctx, operatorName, reason, requestId });
        rt.logger.info({ parked_id: id, operator_agency_id: ctx.caller.agencyId }, 'parked message discarded');
        return { message: toProto((await getParked(trx, id))!) };
      }),
    );
  },
});
