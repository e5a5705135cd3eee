// What a handler of the GrpcServer is given besides the request: the caller verified by mTLS, the
// signed-in person, the call's metadata (and for a server stream, how to send and when to stop),
// and the handler types a service's implementation must have.
import type { Metadata } from '@grpc/grpc-js';

export interface AgencyIdentity {
  agencyId: string;
  agencyType: string;
}

/** The person a call acts for, from a verified access token (see the `authenticate` option). */
export interface CallPerson {
  /** Pseudonymous staff id (the token's `sub`), never a name. */
  sub: string;
  roles: string[];
}

/** What a handler knows about a call besides the request: who calls, verified by mTLS. */
export interface CallContext {
  caller: AgencyIdentity;
  /** The signed-in person behind the call, when the call carried a verified token. */
  person?: CallPerson;
  metadata: Metadata;
  method: string;
}

/** What a handler of a server-streaming call has besides the request. */
export interface StreamCallContext<Res> extends CallContext {
  /** Sends one message; waits while the client is not reading (flow control). */
  send(response: Res): Promise<void>;
  /** Aborted when the client cancels or goes away; the handler should then return. */
  signal: AbortSignal;
}

export type Method<Req, Res, Streaming extends boolean> = {
  path: string;
  requestStream: false;
  responseStream: Streaming;
  requestDeserialize: (value: Buffer) => Req;
  responseSerialize: (value: Res) => Buffer;
};

/**
 * Unary: the handler resolves with the response. Server-streaming: the handler sends through
 * `call.send` and resolves to end the stream with OK. Either way a thrown error becomes the status.
 */
export type AsyncHandlers<D> = {
  [K in keyof D]: D[K] extends Method<infer Req, infer Res, false>
    ? (request: Req, call: CallContext) => Promise<Res>
    : D[K] extends Method<infer Req, infer Res, true>
      ? (request: Req, call: StreamCallContext<Res>) => Promise<void>
      : never;
};
