import { credentials, Metadata, status, type CallOptions, type Client, type ClientUnaryCall, type Interceptor, type ServiceError } from '@grpc/grpc-js';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isServiceError, UnavailableError } from './errors.js';
import type { TlsIdentity } from './tls-identity.js';
import { metadataSetter } from './trace-metadata.js';

type Callback<Res> = (error: ServiceError | null, response: Res) => void;

/** The promise form of a ts-proto grpc-js client: every unary method returns a Promise. */
export type PromiseClient<C> = {
  [K in keyof C as C[K] extends (...args: any[]) => ClientUnaryCall ? K : never]: C[K] extends (
    request: infer Req,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: Callback<infer Res>,
  ) => ClientUnaryCall
    ? (request: Req, options?: { deadlineMs?: number; metadata?: Metadata }) => Promise<Res>
    : never;
} & { close(): void; raw: C };

type ClientConstructor<C> = (new (address: string, creds: ReturnType<typeof credentials.createSsl>, options?: object) => C) & {
  service: Record<string, { path: string; originalName?: string }>;
};

const tracer = trace.getTracer('@lotse/grpc');

export interface ClientOptions {
  /** Default deadline of each call. */
  deadlineMs?: number;
  /**
   * The agency deployment expected at the address. Its certificate names it (DNS SAN = id), so
   * the server is checked to be that agency, not just any certificate the CA signed — and the
   * TLS server name is then a name, not the IP address (which RFC 6066 does not allow).
   */
  serverAgencyId?: string;
  /**
   * Calls that fail with UNAVAILABLE (the server is away, or waits on something) or
   * RESOURCE_EXHAUSTED (its admission control refused the call before doing anything) are tried
   * again by grpc-js itself: its retry policy, up to `maxAttempts` in all, exponential backoff with
   * jitter or the server's `grpc-retry-pushback-ms`, within the call's deadline. Only for services
   * whose mutating calls are idempotent on a request id, so a repeat does no harm.
   */
  retry?: { maxAttempts?: number; initialBackoffMs?: number; maxBackoffMs?: number };
  /** grpc-js client interceptors, outermost first: they see each call once, above its retries. */
  interceptors?: Interceptor[];
}

/** grpc-js's service config for retrying UNAVAILABLE and RESOURCE_EXHAUSTED on every method of the client's service. */
function retryServiceConfig(services: readonly string[], retry: NonNullable<ClientOptions['retry']>): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;
  return JSON.stringify({
    methodConfig: [
      {
        name: services.map((service) => ({ service })),
        retryPolicy: {
          maxAttempts: retry.maxAttempts ?? 5,
          initialBackoff: seconds(retry.initialBackoffMs ?? 200),
          maxBackoff: seconds(retry.maxBackoffMs ?? 1000),
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
        },
      },
    ],
  });
}

/**
 * A client that presents this deployment's certificate (mTLS), puts a deadline on every call
 * (5 s unless told otherwise) and carries the trace context in metadata.
 */
export function createClient<C extends Client>(
  Ctor: ClientConstructor<C>,
  address: string,
  identity: TlsIdentity,
  { deadlineMs = 5000, serverAgencyId, retry, interceptors }: ClientOptions = {},
): PromiseClient<C> {
  const services = [...new Set(Object.values(Ctor.service).map((m) => m.path.split('/')[1]!))];
  const raw = new Ctor(address, credentials.createSsl(identity.ca, identity.key, identity.cert), {
    'grpc.keepalive_time_ms': 30_000,
    ...(serverAgencyId && { 'grpc.ssl_target_name_override': serverAgencyId, 'grpc.default_authority': serverAgencyId }),
    ...(retry && { 'grpc.service_config': retryServiceConfig(services, retry) }),
    ...(interceptors?.length && { interceptors }),
  });
  const wrapped: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const [name, method] of Object.entries(Ctor.service)) {
    // Streaming calls are used through `raw`: a promise does not fit them.
    if ((method as { responseStream?: boolean }).responseStream) continue;
    const [, service, rpc] = method.path.split('/');
    wrapped[name] = (request: unknown, options: { deadlineMs?: number; metadata?: Metadata } = {}) => {
      const span = tracer.startSpan(`${service}/${rpc}`, {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': rpc, 'server.address': address },
      });
      const metadata = options.metadata ?? new Metadata();
      propagation.inject(trace.setSpan(context.active(), span), metadata, metadataSetter);
      const deadline = new Date(Date.now() + (options.deadlineMs ?? deadlineMs));
      return new Promise((resolve, reject) => {
        (raw as any)[name](request, metadata, { deadline }, (error: ServiceError | null, response: unknown) => {
          span.setAttribute('rpc.grpc.status_code', error ? error.code : 0);
          if (error) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error.details });
            span.end();
            reject(error);
          } else {
            span.end();
            resolve(response);
          }
        });
      });
    };
  }
  return wrapped as PromiseClient<C>;
}

/**
 * Whether a call failed because the other side could not be reached in time (UNAVAILABLE or
 * DEADLINE_EXCEEDED): worth trying again later, and ours to report as UNAVAILABLE.
 */
export function isUnreachable(error: unknown): error is ServiceError {
  return isServiceError(error) && (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED);
}

/**
 * Passes on a downstream agency's error: unreachable becomes this server's UNAVAILABLE naming
 * whom it waited on (and, when given, for what); every other status passes through as it came.
 */
export function throwDownstream(error: unknown, whom: string, doing?: string): never {
  if (isUnreachable(error)) throw new UnavailableError(`${whom} cannot be reached${doing ? ` ${doing}` : ''}: ${error.details}`);
  throw error;
}
