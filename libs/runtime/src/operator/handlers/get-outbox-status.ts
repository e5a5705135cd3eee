import { operator } from '@lotse/contracts';
import { outboxStatus } from '@lotse/messaging';
import { authorise, unary } from '../parked-records.js';

/** The outbox's backlog, what the relay did when the broker lost the stream, and what the deployment waits to hear back about. */
export const getOutboxStatus = unary(operator.OperatorServiceService.getOutboxStatus, {
  access: 'network',
  async handle(_request, { rt, ctx }) {
    authorise(ctx);
    const row = await outboxStatus(rt.db);
    const stream = await rt.relay.streamStatus();
    return {
      backlog: row.backlog,
      oldestUnpublishedAt: row.oldest ?? undefined,
      parked: row.parked,
      streamResets: stream.resets,
      lastStreamResetAt: stream.lastResetAt ?? undefined,
      republishedAtLastReset: stream.republished,
      confirmedBefore: stream.confirmedBefore ?? undefined,
      durablesRecreated: rt.consumers().reduce((sum, c) => sum + c.recreatedDurables(), 0),
      awaiting: (await rt.awaiting?.()) ?? [],
    };
  },
});
