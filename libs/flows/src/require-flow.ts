import { common } from '@lotse/contracts';
import { PermissionDeniedError } from '@lotse/grpc';
import { flowTable, legalBasisText, type Flow, type FlowTable, type LegalBasis } from './flow-table.js';

export type PurposeRef = string | common.Purpose;
export type CategoryRef = string | common.DataCategory;

export interface FlowQuery {
  /** Agency type of the agency the data leaves. */
  sender: string;
  /** Agency type of the agency it goes to (from its certificate, for a call). */
  recipient: string;
  channel: string;
  purpose: PurposeRef;
  categories: readonly CategoryRef[];
  /**
   * The legal basis the sender relies on (`consent`: it checked the newcomer's consent). When
   * given, only a row with that basis allows the flow: a row on a statute does not make a
   * consent-based flow lawful, nor the other way round.
   */
  basis?: LegalBasis['kind'];
}

/** What the flow table lacks for a flow: no such flow at all, not for this purpose, not these categories, or not on this legal basis. */
export type MissingPart = 'flow' | 'purpose' | 'categories' | 'basis';

/** No row of the flow table allows this: PERMISSION_DENIED at the gRPC edge. */
export class FlowNotAllowedError extends PermissionDeniedError {
  override name = 'FlowNotAllowedError';
  constructor(
    message: string,
    readonly missing: MissingPart,
    /** The purpose or the categories that no row allows (empty for a missing flow). */
    readonly values: string[],
  ) {
    super(message);
  }
}

/** Channel names as the table writes them. */
export const channel = {
  event: (eventType: string) => `event:${eventType}`,
  /** From a gRPC method path ("/lotse.x.v1.Service/Method", as CallContext.method has it). */
  grpc: (methodPath: string) => `grpc:${methodPath.replace(/^\//, '')}`,
};

export function purposeKey(purpose: PurposeRef, table: FlowTable = flowTable()): string {
  if (typeof purpose === 'string') return purpose;
  const name = common.purposeToJSON(purpose);
  return Object.entries(table.purposes).find(([, p]) => p.proto === name)?.[0] ?? name;
}

export function categoryKey(category: CategoryRef, table: FlowTable = flowTable()): string {
  if (typeof category === 'string') return category;
  const name = common.dataCategoryToJSON(category);
  return Object.entries(table.categories).find(([, c]) => c.proto === name)?.[0] ?? name;
}

/** The proto DataCategory of a category key (0 when the key has none). */
export function categoryNumber(key: string, table: FlowTable = flowTable()): common.DataCategory {
  const proto = table.categories[key]?.proto;
  return proto ? common.dataCategoryFromJSON(proto) : common.DataCategory.DATA_CATEGORY_UNSPECIFIED;
}

/** Rows for this sender, recipient and channel, any purpose. */
export function flowsFor(q: Pick<FlowQuery, 'sender' | 'recipient' | 'channel'>, table: FlowTable = flowTable()): Flow[] {
  return table.flows.filter((f) => f.senders.includes(q.sender) && f.recipients.includes(q.recipient) && f.channels.includes(q.channel));
}

function describe(q: Pick<FlowQuery, 'sender' | 'recipient' | 'channel'>): string {
  return `${q.sender} → ${q.recipient} over ${q.channel}`;
}

/**
 * The row of the flow table that allows this flow, or a FlowNotAllowedError (PERMISSION_DENIED)
 * that names what is missing. Call it where personal data leaves its owner, before it does.
 */
export function requireFlow(q: FlowQuery, table: FlowTable = flowTable()): Flow {
  const candidates = flowsFor(q, table);
  if (candidates.length === 0) {
    throw new FlowNotAllowedError(`no flow in the flow table allows ${describe(q)}; nothing was sent`, 'flow', []);
  }
  const purpose = purposeKey(q.purpose, table);
  const forPurpose = candidates.filter((f) => f.purpose === purpose);
  if (forPurpose.length === 0) {
    throw new FlowNotAllowedError(
      `purpose: the flow table allows ${describe(q)} only for ${[...new Set(candidates.map((f) => f.purpose))].join(', ')}, not for ${purpose}; nothing was sent`,
      'purpose',
      [purpose],
    );
  }
  const wanted = [...new Set(q.categories.map((c) => categoryKey(c, table)))];
  const covering = forPurpose.filter((f) => wanted.every((c) => f.categories.includes(c)));
  const row = covering.find((f) => !q.basis || f.legalBasis.kind === q.basis);
  if (row) return row;
  if (covering.length > 0) {
    throw new FlowNotAllowedError(
      `legal basis: the flow table allows ${describe(q)} for ${purpose} with ${wanted.join(', ') || 'no personal data'} only on ${[...new Set(covering.map((f) => legalBasisText(f.legalBasis)))].join(', ')}, not on ${q.basis}; nothing was sent`,
      'basis',
      [q.basis!],
    );
  }
  const allowed = new Set(forPurpose.flatMap((f) => f.categories));
  const missing = wanted.filter((c) => !allowed.has(c));
  throw new FlowNotAllowedError(
    `categories: the flow table allows ${describe(q)} for ${purpose} with ${[...allowed].join(', ') || 'no personal data'}, not ${(missing.length ? missing : wanted).join(', ')}; nothing was sent`,
    'categories',
    missing.length ? missing : wanted,
  );
}

/** Categories (proto numbers) that some row allows for this flow and purpose; [] when none does. */
export function allowedCategories(q: Omit<FlowQuery, 'categories'>, table: FlowTable = flowTable()): common.DataCategory[] {
  const purpose = purposeKey(q.purpose, table);
  const keys = new Set(flowsFor(q, table).filter((f) => f.purpose === purpose).flatMap((f) => f.categories));
  return [...keys].map((k) => categoryNumber(k, table)).filter((n) => n !== 0).sort((a, b) => a - b);
}

/**
 * The agency type that owns newcomers' data: the foreign office keeps the register, and every
 * other agency holds only what it received under consent (or routing facts). So a data owner may
 * ask any agency what it holds about a case and learn "nothing" where there is nothing.
 */
export const DATA_OWNER_AGENCY_TYPE = 'foreign-office';

/** Whether agencies of this type own newcomers' data (see DATA_OWNER_AGENCY_TYPE). */
export function isDataOwnerType(agencyType: string): boolean {
  return agencyType === DATA_OWNER_AGENCY_TYPE;
}
