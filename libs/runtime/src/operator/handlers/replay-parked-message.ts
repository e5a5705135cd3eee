import { operator } from '@lotse/contracts';
import { FailedPreconditionError, once, Violations, type CallContext } from '@lotse/grpc';
import { getParked, recordReplayFailure } from '@lotse/messaging';
import { trace, type Link } from '@opentelemetry/api';
import { authorise, openParked, parkedMessageRequest, record, toProto, unary, type OperatorRuntime } from '../parked-records.js';

/**
 * An operator has the consumer that parked a message handle it again. The handler's effect, the
 * replay mark and the audit row commit together; a replay that fails again rolls back, and the
 * new error and the attempt are recorded in a transaction of their own.
 */
export const replayParkedMessage = unary(operator.OperatorServiceService.replayParkedMessage, {
  access: 'network',
  async handle(request, { rt, ctx }) {
    authorise(ctx);
    const v = new Violations();
    const { requestId, id, operatorName } = parkedMessageRequest(v, request);
    v.throwIfAny();
    // The replay span continues the message's own trace; this link leads back to the operator's call.
    const caller = trace.getActiveSpan()?.spanContext();
    const links: Link[] = caller ? [{ context: caller }] : [];
    let handlerFailure: { error: unknown } | undefined;
    try {
      const response = await rt.transact((trx) =>
        // Keyed on the full method path, as this API always stored its answers (see operator-api.ts).
        once(trx, { method: ctx.method, requestId, request, requestCodec: operator.ReplayParkedMessageRequest }, operator.ReplayParkedMessageResponse, async () => {
          const row = await openParked(trx, id, request.parkedId);
          const consumer = rt.consumers().find((c) => c.accepts(row));
          if (!consumer) {
            throw new FailedPreconditionError(`no consumer of this deployment reads ${row.subject} as "${row.consumer}"; discard the message instead`);
          }
          try {
            await consumer.replayParked(id, { trx, links });
          } catch (error) {
            handlerFailure = { error };
            throw error;
          }
          await record(trx, { action: 'replay', parkedId: id, call: ctx, operatorName, reason: '', requestId });
          return { message: toProto((await getParked(trx, id))!) };
        }),
      );
      rt.outboxChanged();
      return response;
    } catch (error) {
      if (!handlerFailure) throw error;
      await recordFailedReplay(rt, ctx, { id, operatorName, requestId }, handlerFailure.error);
      // The handler's message stays in the parked row (operators list it); the status says what happened.
      throw new FailedPreconditionError(`replaying parked message ${id} failed again; it stays parked with the new error`);
    }
  },
});

/** Rolled back: no effect, no replay mark. Keeps the new error and the attempt on record. */
async function recordFailedReplay(rt: OperatorRuntime, call: CallContext, attempt: { id: number; operatorName: string; requestId: string }, failure: unknown): Promise<void> {
  const message = failure instanceof Error ? failure.message : String(failure);
  try {
    await rt.transact(async (trx) => {
      await recordReplayFailure(trx, attempt.id, message);
      await record(trx, { action: 'replay_failed', parkedId: attempt.id, call, operatorName: attempt.operatorName, reason: '', requestId: attempt.requestId });
    });
  } catch (recordError) {
    rt.logger.error({ err: recordError, parked_id: attempt.id }, 'recording a failed replay failed');
  }
}
