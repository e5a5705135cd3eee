import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common } from '@lotse/contracts';
import { PermissionDeniedError } from '@lotse/grpc';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedCategories, channel, FlowNotAllowedError, flowTable, FlowTableError, loadFlowTable, requireFlow } from './index.js';

const { Purpose, DataCategory: C } = common;
const disclose = channel.grpc('/lotse.foreign_office.v1.ForeignOfficeService/DiscloseNewcomerData');

function refusal(fn: () => unknown): FlowNotAllowedError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FlowNotAllowedError);
    expect(error).toBeInstanceOf(PermissionDeniedError); // → PERMISSION_DENIED at the gRPC edge
    return error as FlowNotAllowedError;
  }
  throw new Error('expected the flow to be refused');
}

describe('the flow table (policy/flows.yaml)', () => {
  const table = flowTable();

  it('loads, and names a legal basis — consent or a statute — for every flow', () => {
    expect(table.flows.length).toBeGreaterThan(10);
    for (const f of table.flows) {
      if (f.legalBasis.kind === 'statute') expect(f.legalBasis.statute, f.id).toMatch(/(§|Art\.)\s*\d/);
    }
    expect(new Set(table.flows.map((f) => f.id)).size).toBe(table.flows.length);
  });

  it('holds the flows that exist: referral to the hub, routing to a provider, disclosure to the provider', () => {
    const ids = table.flows.map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining(['fo-hub-referral-requested', 'hub-provider-referral-routed', 'fo-provider-disclose', 'owner-hub-consent-withdrawn']));
    const referral = table.flows.find((f) => f.id === 'fo-hub-referral-requested')!;
    expect(referral.categories).toEqual(['municipality', 'age-group']);
  });
});

describe('requireFlow', () => {
  it('returns the row that allows a flow', () => {
    const row = requireFlow({ sender: 'foreign-office', recipient: 'migration-services', channel: disclose, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [C.DATA_CATEGORY_IDENTITY, C.DATA_CATEGORY_LANGUAGES] });
    expect(row.id).toBe('fo-provider-disclose');
    expect(row.legalBasis).toEqual({ kind: 'consent' });
    expect(requireFlow({ sender: 'foreign-office', recipient: 'lotsenhaus', channel: 'event:ReferralRequested', purpose: 'migration-counselling', categories: ['municipality', 'age-group'] }).id).toBe(
      'fo-hub-referral-requested',
    );
  });

  it('refuses a recipient without a row, naming the flow', () => {
    const error = refusal(() => requireFlow({ sender: 'foreign-office', recipient: 'operator', channel: disclose, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [] }));
    expect(error.missing).toBe('flow');
    expect(error.message).toContain('foreign-office → operator');
  });

  it('refuses a purpose without a row, naming the purpose', () => {
    const error = refusal(() => requireFlow({ sender: 'foreign-office', recipient: 'migration-services', channel: disclose, purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION, categories: [] }));
    expect(error.missing).toBe('purpose');
    expect(error.values).toEqual(['labour-market-integration']);
    expect(error.message).toMatch(/^purpose: /);
  });

  it('refuses categories the row does not list, naming them', () => {
    const error = refusal(() =>
      requireFlow({ sender: 'lotsenhaus', recipient: 'migration-services', channel: 'event:ReferralRouted', purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [C.DATA_CATEGORY_AGE_GROUP, C.DATA_CATEGORY_MUNICIPALITY] }),
    );
    expect(error.missing).toBe('categories');
    expect(error.values).toEqual(['municipality']);
    expect(error.message).toMatch(/^categories: .*not municipality/);
    // The foreign office never discloses the age group: it sends it to the hub as a routing fact only.
    expect(refusal(() => requireFlow({ sender: 'foreign-office', recipient: 'migration-services', channel: disclose, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [C.DATA_CATEGORY_AGE_GROUP] })).values).toEqual([
      'age-group',
    ]);
  });

  it('lists the categories a flow may carry', () => {
    expect(allowedCategories({ sender: 'foreign-office', recipient: 'migration-services', channel: disclose, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING })).toEqual([
      C.DATA_CATEGORY_IDENTITY,
      C.DATA_CATEGORY_NATIONALITY,
      C.DATA_CATEGORY_LANGUAGES,
      C.DATA_CATEGORY_RESIDENCE_STATUS,
      C.DATA_CATEGORY_MUNICIPALITY,
    ]);
    expect(allowedCategories({ sender: 'foreign-office', recipient: 'job-centre', channel: disclose, purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING })).toEqual([]);
  });
});

describe('a broken flow table stops start-up, naming the entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lotse-flows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const head = `
agency_types: { a: { name: A }, b: { name: B } }
purposes: { p: { title: P, proto: PURPOSE_MIGRATION_COUNSELLING } }
categories: { identity: { title: Names, proto: DATA_CATEGORY_IDENTITY } }
flows:
`;
  const load = (flows: string) => {
    const file = join(dir, `t-${Math.random().toString(16).slice(2)}.yaml`);
    writeFileSync(file, head + flows);
    return () => loadFlowTable(file);
  };
  const row = (over: Record<string, string>) =>
    `  - ${Object.entries({ id: 'x', sender: 'a', recipient: 'b', channel: 'event:Thing', purpose: 'p', categories: '[identity]', legal_basis: 'consent', description: 'd', ...over })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n    ')}\n`;

  it('accepts a good row', () => {
    expect(load(row({}))().flows[0]!.id).toBe('x');
  });
  it.each([
    [{ legal_basis: 'because we can' }, /legal_basis .* neither consent nor a named statute/],
    [{ legal_basis: '""' }, /needs a legal_basis/],
    [{ recipient: 'c' }, /agency type "c"/],
    [{ purpose: 'q' }, /purpose "q"/],
    [{ categories: '[health]' }, /category "health"/],
    [{ channel: 'nats.whatever' }, /channel "nats.whatever"/],
    [{ description: '""' }, /needs a description/],
  ])('refuses %j', (over, message) => {
    expect(load(row(over))).toThrow(FlowTableError);
    expect(load(row(over))).toThrow(message);
  });
  it('refuses a duplicate id and an unknown proto name', () => {
    expect(load(row({}) + row({})))
      .toThrow(/id is used twice/);
    const file = join(dir, 'bad-proto.yaml');
    writeFileSync(file, head.replace('DATA_CATEGORY_IDENTITY', 'DATA_CATEGORY_SHOE_SIZE') + row({}));
    expect(() => loadFlowTable(file)).toThrow(/categories.identity.proto/);
  });
});
