import { describe, expect, it } from 'vitest';
import { PermissionDeniedError, ValidationError, type CallContext } from '@lotse/grpc';
import type { AccessMatrix, AccessRule } from '@lotse/flows';
import { accessMismatch, declaredService, handlersFor, type HandlerRuntime } from './declared-handlers.js';

// The wrapper that applies a handler's declaration, with a runtime whose transactions are
// counted rather than opened: what runs in which order, and what refuses to start.

interface Req {
  name: string;
  requestId: string;
}
const codec = (path: string) => ({
  path,
  requestStream: false as const,
  responseStream: false as const,
  requestDeserialize: (b: Buffer) => JSON.parse(b.toString()) as Req,
  requestSerialize: (v: Req) => Buffer.from(JSON.stringify(v)),
  responseSerialize: (v: { ok: string }) => Buffer.from(JSON.stringify(v)),
  responseDeserialize: (b: Buffer) => JSON.parse(b.toString()) as { ok: string },
});
const definition = { doThing: codec('/t.v1.T/DoThing'), readThing: codec('/t.v1.T/ReadThing') };

function runtime() {
  const log: string[] = [];
  const rt: HandlerRuntime<unknown> & { log: string[] } = {
    agencyId: 'here',
    db: {} as never,
    log,
    transact: async (fn) => {
      log.push('begin');
      const result = await fn({ tag: 'trx' } as never);
      log.push('commit');
      return result;
    },
  };
  return rt;
}
type Rt = ReturnType<typeof runtime>;
const { unary } = handlersFor<Rt>();

const matrixOf = (...rules: AccessRule[]): AccessMatrix => ({ version: 't', file: 't', agencyTypes: [], rules: new Map(rules.map((r) => [r.method, r])) });
const matrix = matrixOf({ method: 't.v1.T/DoThing', callers: ['self'] }, { method: 't.v1.T/ReadThing', callers: ['any'] });
const call = (agencyId: string): CallContext => ({ caller: { agencyId, agencyType: 't' }, metadata: {} as never, method: '/t.v1.T/DoThing' });

const doThing = unary(definition.doThing, {
  access: 'self',
  validate: (req, rt) => {
    rt.log.push('validate');
    if (!req.name) throw ValidationError.field('name', 'is required');
    return { ...req, name: req.name.trim() };
  },
  transaction: true,
  async handle(input, { rt, trx }) {
    rt.log.push(`handle ${input.name} in ${(trx as unknown as { tag: string }).tag}`);
    return { ok: input.name };
  },
});
const readThing = unary(definition.readThing, {
  access: 'network',
  handle: async (req) => ({ ok: req.name }),
});

describe('declared handlers', () => {
  it('check access, then validate, then open the transaction, then run the handler', async () => {
    const rt = runtime();
    const api = declaredService(rt, definition, { doThing, readThing }, matrix);
    expect(await api.doThing({ name: ' a ', requestId: 'r' }, call('here'))).toEqual({ ok: 'a' });
    expect(rt.log).toEqual(['validate', 'begin', 'handle a in trx', 'commit']);
  });

  it('refuse another deployment on a self-only method before the request is looked at', async () => {
    const rt = runtime();
    const api = declaredService(rt, definition, { doThing, readThing }, matrix);
    await expect(api.doThing({ name: 'a', requestId: 'r' }, call('elsewhere'))).rejects.toBeInstanceOf(PermissionDeniedError);
    expect(rt.log).toEqual([]);
  });

  it('open no transaction for a request that fails validation', async () => {
    const rt = runtime();
    const api = declaredService(rt, definition, { doThing, readThing }, matrix);
    await expect(api.doThing({ name: '', requestId: 'r' }, call('here'))).rejects.toBeInstanceOf(ValidationError);
    expect(rt.log).toEqual(['validate']);
  });

  it('give a handler declared without a transaction none to use by mistake', async () => {
    const misuse = unary(definition.readThing, { access: 'network', handle: async (_req, { trx }) => ({ ok: String(trx) }) });
    const api = declaredService(runtime(), definition, { doThing, readThing: misuse }, matrix);
    await expect(api.readThing({ name: 'x', requestId: '' }, call('here'))).rejects.toThrow(/not declared with transaction: true/);
  });

  it('do not start with a method left undeclared, a declaration under another method, or access that disagrees with the matrix', () => {
    expect(() => declaredService(runtime(), definition, { doThing } as never, matrix)).toThrow(/ReadThing has no declared handler/);
    expect(() => declaredService(runtime(), definition, { doThing, readThing: doThing }, matrix)).toThrow(/declared for \/t.v1.T\/DoThing is registered as \/t.v1.T\/ReadThing/);
    const wider = matrixOf({ method: 't.v1.T/DoThing', callers: ['self', 'job-centre'] }, { method: 't.v1.T/ReadThing', callers: ['any'] });
    expect(() => declaredService(runtime(), definition, { doThing, readThing }, wider)).toThrow(/declared 'self', but its row lets self, job-centre call/);
  });

  it('match a relation declared by the handler against the row', () => {
    const rows = matrixOf({ method: 't.v1.T/DoThing', callers: ['self', 'job-centre'], relation: 'party-to-case' });
    expect(accessMismatch({ path: '/t.v1.T/DoThing', access: { relation: 'party-to-case' } }, rows)).toBeUndefined();
    expect(accessMismatch({ path: '/t.v1.T/DoThing', access: { relation: 'owner-of-case' } }, rows)).toMatch(/declared to check owner-of-case, but its row says party-to-case/);
    expect(accessMismatch({ path: '/t.v1.T/DoThing', access: 'network' }, rows)).toMatch(/asks the handler to check party-to-case/);
    expect(accessMismatch({ path: '/t.v1.T/Gone', access: 'network' }, rows)).toMatch(/no row/);
  });
});
