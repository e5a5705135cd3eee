import { join } from 'node:path';
import { Server, ServerCredentials, status, type Metadata, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { loadSync } from '@grpc/proto-loader';
import { protoRoot } from '@lotse/contracts';
import type { Logger } from '@lotse/logger';
import { agencyFromPeerCertificate } from '@lotse/pki';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { runAsCaller } from './call-scope.js';
import { recordServerDuration, withServerSpan } from './call-telemetry.js';
import { Admission, defaultAdmissionLimits, methodClass, type AdmissionLimits } from './admission.js';
import type { AgencyIdentity, AsyncHandlers, CallPerson, Method } from './call-context.js';
import { PermissionDeniedError, ResourceExhaustedError, statusOf, toServiceError, UnauthenticatedError } from './errors.js';
import { accepted, checkedDeserializer } from './refused-request.js';
import { RequestShapes } from './request-checks.js';
import type { TlsIdentity } from './tls-identity.js';
import { metadataGetter } from './trace-metadata.js';

type AnyHandler = (request: unknown, call: any) => Promise<unknown>;

export interface GrpcServerOptions {
  identity: TlsIdentity;
  logger: Logger;
  /**
   * The authorisation rule at the edge: why this caller may not call the method (the answer is
   * PERMISSION_DENIED with that message, before the request is looked at), or undefined.
   */
  authorize?: (method: string, caller: AgencyIdentity) => string | undefined;
  /**
   * Who the call acts for: the verified person of its access token, or undefined for a call a
   * deployment makes itself where the matrix allows that. Throws UnauthenticatedError for a
   * missing or bad token where a person is needed, PermissionDeniedError for a wrong agency or role.
   * `certificate` is the DER of the caller's client certificate, for tokens bound to it (RFC 8705).
   */
  authenticate?: (method: string, caller: AgencyIdentity, metadata: Metadata, certificate: Buffer | undefined) => Promise<CallPerson | undefined>;
  /** In-flight limits per class of method; beyond them a call is refused at once (see admission.ts). */
  admission?: AdmissionLimits;
}

const tracer = trace.getTracer('@lotse/grpc');


const protoLoaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** The client of a stream went away while the handler was sending. */
class CallCancelledError extends Error {
  constructor() {
    super('the client cancelled the call');
    this.name = 'CallCancelledError';
  }
}

/**
 * A gRPC server that requires a client certificate from the network's CA, answers health checks
 * and server reflection, traces every call, and maps domain errors to status codes.
 */
export class GrpcServer {
  readonly server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  readonly health = new HealthImplementation({ '': 'NOT_SERVING' });
  private readonly serviceNames: string[] = [];
  /** Admission control: how many calls of each class run now. */
  readonly admission: Admission;
  private readonly streamingPaths = new Set<string>();
  private readonly protoFiles: string[] = [];

  constructor(private readonly options: GrpcServerOptions) {
    this.admission = new Admission(options.admission ?? defaultAdmissionLimits);
    this.health.addToServer(this.server);
  }

  /** Adds a service; protoFile (relative to proto/) feeds server reflection. */
  add<D extends Record<string, Method<any, any, boolean>>>(definition: D, protoFile: string, handlers: AsyncHandlers<D>): void {
    const implementation: Record<string, (call: any, callback: sendUnaryData<any>) => void> = {};
    const checked: Record<string, Method<any, any, boolean>> = {};
    const shapes = new RequestShapes(loadSync(join(protoRoot, protoFile), { includeDirs: [protoRoot], ...protoLoaderOptions }));
    let serviceName = '';
    for (const [key, method] of Object.entries(definition)) {
      serviceName = method.path.split('/')[1]!;
      checked[key] = { ...method, requestDeserialize: checkedDeserializer(method, shapes) };
      const handler = (handlers as Record<string, AnyHandler>)[key]!;
      if (method.responseStream) this.streamingPaths.add(method.path);
      implementation[key] = method.responseStream
        ? (call: ServerWritableStream<unknown, unknown>) => this.handleStream(method.path, handler, call)
        : (call: ServerUnaryCall<unknown, unknown>, callback) => this.handle(method.path, handler, call, callback);
    }
    this.server.addService(checked as any, implementation);
    this.serviceNames.push(serviceName);
    this.protoFiles.push(protoFile);
    this.health.setStatus(serviceName, 'NOT_SERVING');
  }

  private handle(path: string, handler: AnyHandler, call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void {
    this.serve(
      path,
      call,
      (caller, person) => handler(accepted(call.request), { caller, ...(person && { person }), metadata: call.metadata, method: path }),
      (error, response) => (error ? callback(toServiceError(error) as any, null) : callback(null, response)),
    );
  }

  private handleStream(path: string, handler: AnyHandler, call: ServerWritableStream<unknown, unknown>): void {
    const cancelled = new AbortController();
    const abort = () => cancelled.abort();
    call.on('cancelled', abort);
    call.on('close', abort);
    const send = (response: unknown) =>
      new Promise<void>((resolve, reject) => {
        if (cancelled.signal.aborted) return reject(new CallCancelledError());
        if (call.write(response)) return resolve();
        // The client reads slower than we write: wait for the buffer to drain (or the end).
        const drained = () => {
          cancelled.signal.removeEventListener('abort', gone);
          resolve();
        };
        const gone = () => {
          call.off('drain', drained);
          reject(new CallCancelledError());
        };
        call.once('drain', drained);
        cancelled.signal.addEventListener('abort', gone, { once: true });
      });
    this.serve(
      path,
      call,
      (caller, person) => handler(accepted(call.request), { caller, ...(person && { person }), metadata: call.metadata, method: path, send, signal: cancelled.signal }),
      (error) => {
        call.off('cancelled', abort);
        call.off('close', abort);
        if (cancelled.signal.aborted) return;
        // grpc-js sends an 'error' emitted on a server stream as the call's status.
        if (error) call.emit('error', toServiceError(error));
        else call.end();
      },
    );
  }

  /** Tracing, the caller's identity from its certificate, and the status of the outcome. */
  private serve(
    path: string,
    call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
    run: (caller: AgencyIdentity, person: CallPerson | undefined) => Promise<unknown>,
    finish: (error: unknown, response?: unknown) => void,
  ): void {
    const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
    const [, service, method] = path.split('/');
    const span = tracer.startSpan(
      `${service}/${method}`,
      { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method } },
      parent,
    );
    const started = performance.now();
    let code: status = status.OK;
    let release: (() => void) | undefined;
    void context.with(withServerSpan(trace.setSpan(parent, span), span), async () => {
      try {
        const peer = call.getAuthContext()?.sslPeerCertificate;
        const caller = agencyFromPeerCertificate(peer);
        if (!caller) throw new UnauthenticatedError('a client certificate of the Lotse network is required');
        span.setAttribute('lotse.caller_agency', caller.agencyId);
        const refusal = this.options.authorize?.(path, caller);
        if (refusal !== undefined) {
          this.options.logger.warn({ method: path, caller: caller.agencyId, caller_type: caller.agencyType }, 'call refused by the authorisation matrix');
          throw new PermissionDeniedError(refusal);
        }
        // Before admission: a call without a valid token must not hold a slot.
        const person = await this.options.authenticate?.(path, caller, call.metadata, peer?.raw);
        if (person) span.setAttribute('lotse.person_roles', person.roles.join(','));
        const kind = methodClass(path, this.streamingPaths.has(path));
        release = this.admission.enter(kind);
        if (!release) {
          throw new ResourceExhaustedError(
            `${this.admission.limits[kind === 'read' ? 'reads' : kind === 'write' ? 'writes' : 'streams']} ${kind} calls are in flight here already; try again in ${this.admission.limits.retryAfterMs} ms`,
            this.admission.limits.retryAfterMs,
          );
        }
        // The caller is known to code below the handler too: idempotency keys on it.
        const response = await runAsCaller(caller.agencyId, () => run(caller, person));
        span.setAttribute('rpc.grpc.status_code', status.OK);
        finish(null, response);
      } catch (error) {
        code = error instanceof CallCancelledError ? status.CANCELLED : statusOf(error);
        span.setAttribute('rpc.grpc.status_code', code);
        if (code === status.INTERNAL) {
          // The raw message of an unexpected error may hold data; log it locally, keep it off the span.
          this.options.logger.error({ err: error, method: path }, 'unexpected error in handler');
          span.recordException({ name: (error as Error)?.name ?? 'Error', message: 'internal error' });
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'internal error' });
        } else if (code !== status.CANCELLED) {
          span.recordException({ name: (error as Error).name, message: (error as Error).message });
          span.setStatus({ code: SpanStatusCode.ERROR, message: status[code] });
        }
        finish(error);
      } finally {
        release?.();
        span.end();
        const ms = performance.now() - started;
        recordServerDuration(ms, { service: service!, method: method!, code });
        this.options.logger.debug({ method: path, ms: Math.round(ms) }, 'call');
      }
    });
  }

  /** Binds, registers reflection for the added services, and reports SERVING. Returns the port. */
  async listen(host: string, port: number): Promise<number> {
    const packageDefinition = loadSync(
      [...this.protoFiles.map((f) => join(protoRoot, f)), healthProtoPath],
      { includeDirs: [protoRoot], ...protoLoaderOptions },
    );
    new ReflectionService(packageDefinition).addToServer(this.server);
    const { ca, cert, key } = this.options.identity;
    const credentials = ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, credentials, (error, actual) => (error ? reject(error) : resolve(actual))),
    );
    this.health.setStatus('', 'SERVING');
    for (const name of this.serviceNames) this.health.setStatus(name, 'SERVING');
    return bound;
  }

  /**
   * What health checks answer, for the server as a whole and every service: a deployment whose
   * database is away reports NOT_SERVING, so a load balancer or the console sees it, and SERVING
   * again when it is back. It keeps answering calls either way (they fail with UNAVAILABLE).
   */
  setServing(serving: boolean): void {
    const value = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', value);
    for (const name of this.serviceNames) this.health.setStatus(name, value);
  }

  /** Stops taking calls, lets running calls finish for up to graceMs, then closes. */
  async stop(graceMs = 5000): Promise<void> {
    this.health.setStatus('', 'NOT_SERVING');
    for (const name of this.serviceNames) this.health.setStatus(name, 'NOT_SERVING');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
