// The authorisation matrix (policy/access.yaml): for every RPC, which callers may call it. The
// gRPC servers check it before any handler runs; the relations it names are the handlers' own
// checks against their records, written down here so the whole rule can be read in one place.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const defaultAccessMatrixFile = fileURLToPath(new URL('../../../policy/access.yaml', import.meta.url));

export const accessRelations = ['referral-with-caller', 'party-to-consent', 'party-to-case', 'owner-of-case', 'owner-of-withdrawal', 'owner-of-entry'] as const;
export type AccessRelation = (typeof accessRelations)[number];

export interface AccessRule {
  /** `package.Service/Method`. */
  method: string;
  /** `self`, `any`, or agency types. */
  callers: string[];
  relation?: AccessRelation;
  /** Roles a signed-in person must hold to make the call; absent: no person is needed. */
  people?: string[];
  /** Callers (`self` or agency types) that may make the call as software, without a person. */
  machines?: string[];
}

export const personRoles = ['caseworker', 'supervisor', 'operator', 'auditor', 'dpo'] as const;

export interface AccessMatrix {
  version: string;
  file: string;
  agencyTypes: string[];
  rules: Map<string, AccessRule>;
}

export interface Caller {
  agencyId: string;
  agencyType: string;
}

/** A matrix that does not hold together: start-up stops with the entry it names. */
export class AccessMatrixError extends Error {
  override name = 'AccessMatrixError';
}

const methodPattern = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*\/[A-Z][A-Za-z0-9]*$/;

/** Reads and checks the matrix; every problem names the RPC and the field. */
export function loadAccessMatrix(file = defaultAccessMatrixFile): AccessMatrix {
  let raw: any;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AccessMatrixError(`${file}: ${(error as Error).message}`);
  }
  const fail = (where: string, message: string): never => {
    throw new AccessMatrixError(`${file}: ${where}: ${message}`);
  };
  if (!raw || typeof raw !== 'object') fail('(file)', 'must be a mapping');
  const agencyTypes: string[] = Array.isArray(raw.agency_types) ? raw.agency_types.map(String) : fail('agency_types', 'must be a list');
  if (!raw.rpcs || typeof raw.rpcs !== 'object') fail('rpcs', 'must be a mapping of RPC to rule');
  const rules = new Map<string, AccessRule>();
  for (const [method, value] of Object.entries<any>(raw.rpcs)) {
    if (!methodPattern.test(method)) fail(method, 'must be package.Service/Method');
    const callers: string[] = Array.isArray(value?.callers) && value.callers.length ? value.callers.map(String) : fail(method, 'callers must be a non-empty list');
    for (const c of callers) if (c !== 'self' && c !== 'any' && !agencyTypes.includes(c)) fail(`${method}.callers`, `"${c}" is neither self, any nor an agency type of agency_types`);
    if (callers.includes('any') && callers.length > 1) fail(`${method}.callers`, '"any" stands alone');
    const relation = value.relation === undefined ? undefined : String(value.relation);
    if (relation !== undefined && !(accessRelations as readonly string[]).includes(relation)) fail(`${method}.relation`, `"${relation}" is none of ${accessRelations.join(', ')}`);
    const list = (field: string, allowed: readonly string[]): string[] | undefined => {
      if (value[field] === undefined) return undefined;
      const items: string[] = Array.isArray(value[field]) && value[field].length ? value[field].map(String) : fail(`${method}.${field}`, 'must be a non-empty list');
      for (const item of items) if (!allowed.includes(item)) fail(`${method}.${field}`, `"${item}" is none of ${allowed.join(', ')}`);
      return items;
    };
    const people = list('people', personRoles);
    const machines = list('machines', ['self', ...agencyTypes]);
    if (machines && !people) fail(`${method}.machines`, 'only makes sense beside people');
    const extra = Object.keys(value).filter((k) => !['callers', 'relation', 'people', 'machines'].includes(k));
    if (extra.length) fail(method, `unknown field(s) ${extra.join(', ')}`);
    rules.set(method, { method, callers, ...(relation && { relation: relation as AccessRelation }), ...(people && { people }), ...(machines && { machines }) });
  }
  return { version: String(raw.version ?? ''), file, agencyTypes, rules };
}

let cached: AccessMatrix | undefined;

/** The network's matrix, read once. */
export function accessMatrix(): AccessMatrix {
  cached ??= loadAccessMatrix();
  return cached;
}

/**
 * Why `caller` may not call `method` at the deployment `self`, or undefined when it may. The
 * path is grpc-js's (`/package.Service/Method`) or the bare `package.Service/Method`.
 */
export function accessRefusal(method: string, caller: Caller, self: Caller, matrix: AccessMatrix = accessMatrix()): string | undefined {
  const key = method.startsWith('/') ? method.slice(1) : method;
  const rule = matrix.rules.get(key);
  if (!rule) return `${key} has no row in the authorisation matrix (policy/access.yaml); refused`;
  if (rule.callers.includes('any')) return undefined;
  if (rule.callers.includes('self') && caller.agencyId === self.agencyId) return undefined;
  if (rule.callers.includes(caller.agencyType)) return undefined;
  const who = rule.callers.map((c) => (c === 'self' ? `${self.agencyId} itself` : c)).join(', ');
  return `the authorisation matrix lets only ${who} call ${key}; ${caller.agencyId} is of agency type "${caller.agencyType}"`;
}

/**
 * What the call needs besides the certificate: `people` lists the roles a signed-in person must
 * hold; `required` says whether this caller must send a person at all (false where the row lets
 * it call as software). Undefined when the row needs no person.
 */
export function personRequirement(method: string, caller: Caller, self: Caller, matrix: AccessMatrix = accessMatrix()): { roles: string[]; required: boolean } | undefined {
  const rule = matrix.rules.get(method.startsWith('/') ? method.slice(1) : method);
  if (!rule?.people) return undefined;
  const asSoftware = (rule.machines ?? []).some((m) => (m === 'self' ? caller.agencyId === self.agencyId : m === caller.agencyType));
  return { roles: rule.people, required: !asSoftware };
}

const relationWords: Record<AccessRelation, string> = {
  'referral-with-caller': 'a referral of the case for the purpose is with the caller, accepted or in progress',
  'party-to-consent': 'the caller holds data under the consent, or a referral of the newcomer is open with it',
  'party-to-case': 'the caller is or was a party to the case (the hub itself and operators see all)',
  'owner-of-case': "the caller owns the case's data",
  'owner-of-withdrawal': 'the erasures of withdrawals the caller recorded (operators and auditors: all)',
  'owner-of-entry': "the directory entries of the caller's own organisations (the caller is their owner)",
};

/** docs/access-matrix.md: one row per RPC, one column per caller. */
export function accessMatrixDocument(matrix: AccessMatrix = accessMatrix()): string {
  const columns = ['self', ...matrix.agencyTypes];
  const lines = [
    '# Authorisation matrix',
    '',
    `Generated from \`policy/access.yaml\` (version ${matrix.version}) by \`pnpm records\`; do not edit by hand. Every gRPC server of the network checks the caller's certificate against its row before any handler runs (PERMISSION_DENIED otherwise); an RPC without a row is refused. "self" is the deployment's own certificate (its caseworkers); ✓ means the agency type may call it, subject to the relation named, which the handler checks against its own records. Where a deployment trusts an OpenID issuer (OIDC_ISSUER), "people" are the roles a signed-in person must hold (a verified access token whose agency is the certificate's); the last column names the callers that may call as software, with the certificate only.`,
    '',
    `${matrix.rules.size} RPCs × ${columns.length} callers.`,
  ];
  const byService = new Map<string, AccessRule[]>();
  for (const rule of matrix.rules.values()) {
    const service = rule.method.split('/')[0]!;
    byService.set(service, [...(byService.get(service) ?? []), rule]);
  }
  for (const [service, rules] of byService) {
    lines.push('', `## ${service}`, '', `| RPC | ${columns.join(' | ')} | relation | people (roles) | as software, no person |`, `|---|${columns.map(() => ':-:').join('|')}|---|---|---|`);
    for (const rule of rules) {
      const cells = columns.map((c) => (rule.callers.includes('any') || rule.callers.includes(c) ? '✓' : ''));
      const people = rule.people ? rule.people.join(', ') : 'none needed';
      const software = rule.people ? (rule.machines ?? []).join(', ') : 'every caller';
      lines.push(`| ${rule.method.split('/')[1]} | ${cells.join(' | ')} | ${rule.relation ? relationWords[rule.relation] : rule.callers.includes('any') ? 'any deployment of the network' : ''} | ${people} | ${software} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
