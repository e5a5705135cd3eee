import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { common } from '@lotse/contracts';
import { parse } from 'yaml';

/** The reviewed flow table of the network, at the root of the repository. */
export const defaultFlowTableFile = fileURLToPath(new URL('../../../policy/flows.yaml', import.meta.url));

export type LegalBasis = { kind: 'consent' } | { kind: 'statute'; statute: string };

export interface Flow {
  id: string;
  senders: string[];
  recipients: string[];
  /** `event:<EventMessage>` or `grpc:<package.Service>/<Method>`. */
  channels: string[];
  purpose: string;
  /** Keys of the table's categories; empty for pseudonymous flows. */
  categories: string[];
  legalBasis: LegalBasis;
  /**
   * The relation the recipient must hold to the case before anything leaves, checked by the
   * sender against its own records (`referral-with-caller`: a referral of the case for the
   * purpose is with the recipient, accepted or in progress). Absent: the legal basis alone.
   */
  requires?: FlowRelation;
  description: string;
}

export const flowRelations = ['referral-with-caller'] as const;
export type FlowRelation = (typeof flowRelations)[number];

export interface Named {
  title: string;
  /** The proto enum name this key stands for, if any (Purpose or DataCategory). */
  proto?: string;
}

export interface FlowTable {
  version: string;
  file: string;
  agencyTypes: Record<string, { name: string; deployments: string[] }>;
  purposes: Record<string, Named>;
  categories: Record<string, Named>;
  flows: Flow[];
}

/** A flow table that does not hold together; start-up stops with the entry it names. */
export class FlowTableError extends Error {
  override name = 'FlowTableError';
}

const keyPattern = /^[a-z][a-z0-9-]*$/;
const channelPattern = /^(event:[A-Z][A-Za-z0-9]*|grpc:[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.[A-Z][A-Za-z0-9]*\/[A-Z][A-Za-z0-9]*)$/;
// A statute is named by paragraph or article: "§ 71 SGB X", "Art. 6(1)(e) GDPR".
const statutePattern = /(§|Art\.)\s*\d/;

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);

/** Reads and checks a flow table; every problem names the flow and the field. */
export function loadFlowTable(file = defaultFlowTableFile): FlowTable {
  let raw: any;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new FlowTableError(`${file}: ${(error as Error).message}`);
  }
  const fail = (where: string, message: string): never => {
    throw new FlowTableError(`${file}: ${where}: ${message}`);
  };
  if (!raw || typeof raw !== 'object') fail('(top)', 'must be a mapping');

  const named = (section: string, enumObject: Record<string, string | number>): Record<string, Named> => {
    const entries = raw[section];
    if (!entries || typeof entries !== 'object') fail(section, 'must be a mapping');
    const out: Record<string, Named> = {};
    for (const [key, value] of Object.entries<any>(entries)) {
      if (!keyPattern.test(key)) fail(`${section}.${key}`, 'keys are lower-case words joined by "-"');
      if (!value?.title) fail(`${section}.${key}`, 'needs a title');
      if (value.proto !== undefined && typeof enumObject[value.proto] !== 'number') fail(`${section}.${key}.proto`, `"${value.proto}" is no value of the proto enum`);
      out[key] = { title: String(value.title), ...(value.proto !== undefined && { proto: String(value.proto) }) };
    }
    return out;
  };
  const purposes = named('purposes', common.Purpose as any);
  const categories = named('categories', common.DataCategory as any);

  const agencyTypes: FlowTable['agencyTypes'] = {};
  for (const [key, value] of Object.entries<any>(raw.agency_types ?? fail('agency_types', 'missing'))) {
    if (!keyPattern.test(key)) fail(`agency_types.${key}`, 'keys are lower-case words joined by "-"');
    if (!value?.name) fail(`agency_types.${key}`, 'needs a name');
    agencyTypes[key] = { name: String(value.name), deployments: list(value.deployments).map(String) };
  }

  const flows: Flow[] = [];
  const ids = new Set<string>();
  for (const [i, row] of list(raw.flows).entries()) {
    const r = row as any;
    const where = `flows[${i}]${r?.id ? ` (${r.id})` : ''}`;
    if (!r?.id || !keyPattern.test(r.id)) fail(where, 'needs an id of lower-case words joined by "-"');
    if (ids.has(r.id)) fail(where, 'id is used twice');
    ids.add(r.id);
    const senders = list(r.sender).map(String);
    const recipients = list(r.recipient).map(String);
    const channels = list(r.channel).map(String);
    if (!senders.length) fail(where, 'needs a sender');
    if (!recipients.length) fail(where, 'needs a recipient');
    if (!channels.length) fail(where, 'needs a channel');
    for (const t of [...senders, ...recipients]) if (!agencyTypes[t]) fail(where, `agency type "${t}" is not in agency_types`);
    for (const c of channels) if (!channelPattern.test(c)) fail(where, `channel "${c}" is neither event:<Message> nor grpc:<package.Service>/<Method>`);
    if (!purposes[r.purpose]) fail(where, `purpose "${r.purpose}" is not in purposes`);
    if (!Array.isArray(r.categories)) fail(where, 'categories must be a list ([] for pseudonymous flows)');
    for (const c of r.categories) if (!categories[c]) fail(where, `category "${c}" is not in categories`);
    const basis = typeof r.legal_basis === 'string' ? r.legal_basis.trim() : '';
    if (!basis) fail(where, 'needs a legal_basis: consent, or a named statute');
    if (basis !== 'consent' && !statutePattern.test(basis)) fail(where, `legal_basis "${basis}" is neither consent nor a named statute (§ … / Art. …)`);
    if (!r.description) fail(where, 'needs a description');
    if (r.requires !== undefined && !(flowRelations as readonly string[]).includes(r.requires)) fail(where, `requires "${r.requires}" is none of ${flowRelations.join(', ')}`);
    flows.push({
      id: r.id,
      senders,
      recipients,
      channels,
      purpose: r.purpose,
      categories: [...new Set<string>(r.categories)],
      legalBasis: basis === 'consent' ? { kind: 'consent' } : { kind: 'statute', statute: basis },
      ...(r.requires !== undefined && { requires: r.requires as FlowRelation }),
      description: String(r.description).trim(),
    });
  }
  return { version: String(raw.version ?? ''), file, agencyTypes, purposes, categories, flows };
}

let loaded: FlowTable | undefined;

/** The network's flow table, loaded and checked once per process. */
export function flowTable(): FlowTable {
  loaded ??= loadFlowTable();
  return loaded;
}

export function legalBasisText(basis: LegalBasis): string {
  return basis.kind === 'consent' ? 'consent (Art. 6(1)(a) GDPR)' : basis.statute;
}

/**
 * Every event row of the table, one per sender type, recipient type and event: what the broker's
 * generated permissions (libs/messaging brokerConfig) let each deployment receive.
 */
export function eventFlows(table: FlowTable = flowTable()): { senderType: string; recipientType: string; event: string }[] {
  return table.flows.flatMap((f) =>
    f.channels
      .filter((c) => c.startsWith('event:'))
      .flatMap((c) => f.senders.flatMap((senderType) => f.recipients.map((recipientType) => ({ senderType, recipientType, event: c.slice('event:'.length) })))),
  );
}
