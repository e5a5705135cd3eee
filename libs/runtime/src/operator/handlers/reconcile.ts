import { operator } from '@lotse/contracts';
import { once, Violations } from '@lotse/grpc';
import { authorise, record, unary } from '../parked-records.js';

/**
 * An operator has the outbox send again what was published since a time (or what the consumers
 * had not confirmed). Kept under request_id like replays: a retried call gets the first answer
 * and sends nothing again. The rows to re-send are marked and audited in one transaction; the
 * relay is told once it committed.
 */
export const reconcile = unary(operator.OperatorServiceService.reconcile, {
  access: 'network',
  async handle(request, { rt, ctx }) {
    authorise(ctx);
    const v = new Violations();
    const requestId = v.requestId(request.requestId);
    const operatorName = v.text('operator_name', request.operatorName, { required: false, max: 200 });
    if (request.since && request.since.getTime() > Date.now()) v.add('since', 'must not be in the future');
    v.throwIfAny();
    const response = await rt.transact((trx) =>
      // Keyed on the full method path, as this API always stored its answers (see operator-api.ts).
      once(trx, { method: ctx.method, requestId, request, requestCodec: operator.ReconcileRequest }, operator.ReconcileResponse, async () => {
        const republished = await rt.relay.reconcile(request.since, trx);
        const reason = `${request.since ? `since ${request.since.toISOString()}` : 'what the consumers had not confirmed'}; ${republished} events re-published`;
        await record(trx, { action: 'reconcile', parkedId: null, call: ctx, operatorName, reason, requestId });
        return { republished };
      }),
    );
    rt.outboxChanged();
    rt.logger.info(
      { request_id: requestId, operator_agency_id: ctx.caller.agencyId, operator_name: operatorName, since: request.since?.toISOString(), republish: response.republished },
      'reconciliation asked by an operator',
    );
    return response;
  },
});
