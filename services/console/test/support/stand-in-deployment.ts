// A deployment's OperatorService as the console sees it, served with the real gRPC server, mTLS
// and whatever `authenticate` hook the test gives it; it notes who each replay or discard was for.
import { envelope, events, operator } from '@lotse/contracts';
import { GrpcServer, NotFoundError, type CallContext } from '@lotse/grpc';

type GrpcServerOptions = ConstructorParameters<typeof GrpcServer>[0];

export interface StandInCall {
  method: 'replay' | 'discard';
  operatorName: string;
  /** The person the deployment's hook verified, if any. */
  person?: { sub: string; roles: string[] };
}

export function parked(id: string): operator.ParkedMessage {
  const payload = events.ReferralAccepted.encode(events.ReferralAccepted.fromPartial({ referralId: 'r-1', caseRef: 'C-SIGN1', providerId: 'caritas-koblenz' })).finish();
  const data = envelope.Envelope.encode({ eventId: `e-${id}`, eventType: 'ReferralAccepted', occurredAt: new Date(), producerAgencyId: 'caritas-koblenz', caseRef: 'C-SIGN1', schemaVersion: 1, payload: Buffer.from(payload) }).finish();
  return operator.ParkedMessage.fromPartial({ parkedId: id, consumer: 'hub', stream: 'LOTSE_CARITAS_KOBLENZ', subject: 'lotse.caritas-koblenz.referral-accepted', eventId: `e-${id}`, eventType: 'ReferralAccepted', caseRef: 'C-SIGN1', data: Buffer.from(data), error: 'unknown referral', deliveries: 5, parkedAt: new Date() });
}

export function standInDeployment(options: Pick<GrpcServerOptions, 'identity' | 'logger' | 'authenticate'> & { messages: Map<string, operator.ParkedMessage>; calls: StandInCall[] }): GrpcServer {
  const { messages, calls } = options;
  const note = (method: StandInCall['method'], operatorName: string, call: CallContext) =>
    calls.push({ method, operatorName, ...(call.person && { person: { sub: call.person.sub, roles: [...call.person.roles] } }) });
  const server = new GrpcServer({ identity: options.identity, logger: options.logger, ...(options.authenticate && { authenticate: options.authenticate }) });
  server.add(operator.OperatorServiceService, 'lotse/operator/v1/operator.proto', {
    async listParkedMessages(req) {
      return { messages: [...messages.values()].filter((m) => req.includeResolved || (!m.replayedAt && !m.discardedAt)) };
    },
    async replayParkedMessage(req, call: CallContext) {
      note('replay', req.operatorName, call);
      const m = messages.get(req.parkedId);
      if (!m) throw new NotFoundError('parked_id', req.parkedId, 'parked message');
      m.replayedAt = new Date();
      return { message: m };
    },
    async discardParkedMessage(req, call: CallContext) {
      note('discard', req.operatorName, call);
      const m = messages.get(req.parkedId);
      if (!m) throw new NotFoundError('parked_id', req.parkedId, 'parked message');
      m.discardedAt = new Date();
      return { message: m };
    },
    async getOutboxStatus() {
      return { backlog: 0, parked: 0, oldestUnpublishedAt: undefined, streamResets: 0, lastStreamResetAt: undefined, republishedAtLastReset: 0, confirmedBefore: undefined, durablesRecreated: 0, awaiting: [] };
    },
    async reconcile() {
      return { republished: 0 };
    },
  });
  return server;
}
