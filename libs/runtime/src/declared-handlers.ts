import { accessMatrix, type AccessMatrix, type AccessRelation } from '@lotse/flows';
import { once, requireOwnCaseworker, type AsyncHandlers, type CallContext, type StreamCallContext } from '@lotse/grpc';
import type { Kysely, Transaction } from '@lotse/db';

/**
 * What a handler needs of its deployment. An agency's context has it; a library's API (the
 * operator's, the receipts') builds the same from its own parts.
 */
export interface HandlerRuntime<DB> {
  agencyId: string;
  db: Kysely<DB>;
  transact<T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
}

/**
 * Who may call, as the handler sees it. The edge has already checked the caller against the
 * method's row of policy/access.yaml; the declaration says which kind of row the handler was
 * written for, and the deployment refuses to start where the two disagree (declaredService):
 *   'self'      only this deployment's own certificate (its caseworkers and its own processes);
 *               checked here again before the request is looked at;
 *   'network'   the callers the row names, no relation to check (public or network data);
 *   relation    the row's callers, and the handler checks this relation against its own records.
 */
export type Access = 'self' | 'network' | { relation: AccessRelation };

type DbOf<R> = R extends HandlerRuntime<infer DB> ? DB : never;

/** What a declared handler gets besides its input. */
export interface HandlerCall<R, Req> {
  rt: R;
  ctx: CallContext;
  request: Req;
  /** The call's transaction. Only for handlers declared with `transaction` (or `idempotent`). */
  trx: Transaction<DbOf<R>>;
}

export interface StreamHandlerCall<R, Req, Res> extends Omit<HandlerCall<R, Req>, 'ctx' | 'trx'> {
  ctx: StreamCallContext<Res>;
}

interface MethodOf<Req, Res, Streaming extends boolean> {
  path: string;
  responseStream: Streaming;
  requestSerialize(value: Req): Buffer;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(value: Buffer): Res;
}

export interface UnaryDeclaration<R, Req, Res, Input> {
  access: Access;
  /** The request as the handler's input; throws a ValidationError that names the fields. */
  validate?(request: Req, rt: R): Input;
  /**
   * At most once per (caller, method, client request id): the first response is stored in the
   * call's transaction and answers every retry. The id is the input's (or request's) `requestId`.
   * `storedAs` keeps the key of answers stored before the handler was declared, where it was not
   * the method's bare name (a retry across the upgrade is then still answered, not run again).
   */
  idempotent?: boolean | { storedAs: string };
  /** One transaction for the whole handler: its change, audit entries and outbox rows commit together. */
  transaction?: boolean;
  handle(input: Input, call: HandlerCall<R, Req>): Promise<Res>;
}

export interface StreamDeclaration<R, Req, Res, Input> {
  access: Access;
  validate?(request: Req, rt: R): Input;
  handle(input: Input, call: StreamHandlerCall<R, Req, Res>): Promise<void>;
}

/** A declaration bound to its method, ready for declaredService. */
export interface Declared<R> {
  readonly path: string;
  readonly access: Access;
  bind(rt: R): (request: any, ctx: any) => Promise<any>;
}

const noTransaction = (path: string) => () => {
  throw new Error(`${path}: the handler uses a transaction but is not declared with transaction: true`);
};

/**
 * Declares the handler of one unary method. The server-side wrapper applies what it declares,
 * in this order: access, validation, transaction, idempotency; then the handler runs.
 */
export function unary<R extends HandlerRuntime<any>, Req, Res, Input = Req>(method: MethodOf<Req, Res, false>, d: UnaryDeclaration<R, Req, Res, Input>): Declared<R> {
  const name = method.path.split('/').pop()!;
  const requestCodec = { encode: (m: Req) => ({ finish: () => method.requestSerialize(m) }), decode: () => undefined as never };
  const responseCodec = { encode: (m: Res) => ({ finish: () => method.responseSerialize(m) }), decode: (b: Uint8Array) => method.responseDeserialize(Buffer.from(b)) };
  return {
    path: method.path,
    access: d.access,
    bind: (rt) => async (request: Req, ctx: CallContext) => {
      if (d.access === 'self') requireOwnCaseworker(ctx, rt.agencyId);
      const input = d.validate ? d.validate(request, rt) : (request as unknown as Input);
      const call = { rt, ctx, request };
      if (!d.transaction && !d.idempotent) return d.handle(input, Object.defineProperty(call, 'trx', { get: noTransaction(method.path) }) as HandlerCall<R, Req>);
      return rt.transact((trx: Transaction<any>) => {
        const run = () => d.handle(input, { ...call, trx });
        if (!d.idempotent) return run();
        const requestId = (input as { requestId?: string }).requestId ?? (request as { requestId?: string }).requestId;
        if (!requestId) throw new Error(`${method.path} is declared idempotent but its input has no requestId`);
        const key = typeof d.idempotent === 'object' ? d.idempotent.storedAs : name;
        return once(trx, { method: key, requestId, request, requestCodec }, responseCodec, run);
      });
    },
  };
}

/** Declares the handler of one server-streaming method. */
export function streaming<R extends HandlerRuntime<any>, Req, Res, Input = Req>(method: MethodOf<Req, Res, true>, d: StreamDeclaration<R, Req, Res, Input>): Declared<R> {
  return {
    path: method.path,
    access: d.access,
    bind: (rt) => async (request: Req, ctx: StreamCallContext<Res>) => {
      if (d.access === 'self') requireOwnCaseworker(ctx, rt.agencyId);
      const input = d.validate ? d.validate(request, rt) : (request as unknown as Input);
      return d.handle(input, { rt, ctx, request });
    },
  };
}

/** Where a declaration and the method's row of the authorisation matrix disagree, or undefined. */
export function accessMismatch(declared: Pick<Declared<unknown>, 'path' | 'access'>, matrix: AccessMatrix = accessMatrix()): string | undefined {
  const key = declared.path.replace(/^\//, '');
  const row = matrix.rules.get(key);
  if (!row) return `${key} has no row in policy/access.yaml`;
  const a = declared.access;
  if (a === 'self') return row.callers.length === 1 && row.callers[0] === 'self' ? undefined : `${key} is declared 'self', but its row lets ${row.callers.join(', ')} call`;
  if (a === 'network') return row.relation === undefined ? undefined : `${key} is declared 'network', but its row asks the handler to check ${row.relation}`;
  return row.relation === a.relation ? undefined : `${key} is declared to check ${a.relation}, but its row says ${row.relation ?? 'no relation'}`;
}

type Definition = Record<string, { path: string; responseStream: boolean }>;

/**
 * The handlers of one service from its declarations, one per method. Refuses (throws, so the
 * deployment does not start) a missing method, a declaration for another method, or one whose
 * access disagrees with the authorisation matrix.
 */
export function declaredService<R extends HandlerRuntime<any>, D extends Definition>(rt: R, definition: D, declarations: { [K in keyof D]: Declared<R> }, matrix?: AccessMatrix): AsyncHandlers<D> {
  const handlers: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, method] of Object.entries(definition)) {
    const declared = declarations[key];
    if (!declared) problems.push(`${method.path} has no declared handler`);
    else if (declared.path !== method.path) problems.push(`the handler declared for ${declared.path} is registered as ${method.path}`);
    else {
      const mismatch = accessMismatch(declared, matrix);
      if (mismatch) problems.push(mismatch);
      handlers[key] = declared.bind(rt);
    }
  }
  if (problems.length) throw new Error(`declared handlers do not fit:\n  ${problems.join('\n  ')}`);
  return handlers as AsyncHandlers<D>;
}

/**
 * `unary` and `streaming` with the deployment's runtime type fixed, so that a handler file's
 * `rt` is typed without a hint: `export const { unary } = handlersFor<AgencyContext<MyDb>>();`.
 */
export function handlersFor<R extends HandlerRuntime<any>>() {
  return {
    unary: <Req, Res, Input = Req>(method: MethodOf<Req, Res, false>, d: UnaryDeclaration<R, Req, Res, Input>) => unary<R, Req, Res, Input>(method, d),
    streaming: <Req, Res, Input = Req>(method: MethodOf<Req, Res, true>, d: StreamDeclaration<R, Req, Res, Input>) => streaming<R, Req, Res, Input>(method, d),
  };
}
