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
    expect(referral.categories).toEqual(['municipality', 'age-group', 'languages']);
    expect(referral.legalBasis).toEqual({ kind: 'consent' });
  });

  it('lets the languages spoken travel with a referral request only on the newcomer\'s consent', () => {
    // Every row that lets ReferralRequested carry the languages rests on consent, none on a statute.
    const carrying = table.flows.filter((f) => f.channels.includes('event:ReferralRequested') && f.categories.includes('languages'));
    expect(carrying.map((f) => f.id)).toContain('fo-hub-referral-requested');
    expect(carrying.filter((f) => f.legalBasis.kind !== 'consent').map((f) => f.id)).toEqual([]);
  });
});

describe('requireFlow on a legal basis', () => {
  const languagesToHub = { sender: 'foreign-office', recipient: 'lotsenhaus', channel: channel.event('ReferralRequested'), purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING };
  const categories = [C.DATA_CATEGORY_MUNICIPALITY, C.DATA_CATEGORY_AGE_GROUP, C.DATA_CATEGORY_LANGUAGES];

  it('accepts the languages on the referral request to the hub with consent as the basis', () => {
    const row = requireFlow({ ...languagesToHub, categories, basis: 'consent' });
    expect(row).toMatchObject({ id: 'fo-hub-referral-requested', legalBasis: { kind: 'consent' } });
  });

  it('refuses them on any other basis, naming it', () => {
    const error = refusal(() => requireFlow({ ...languagesToHub, categories, basis: 'statute' }));
    expect(error.missing).toBe('basis');
    expect(error.values).toEqual(['statute']);
    expect(error.message).toMatch(/^legal basis: .* only on consent \(Art\. 6\(1\)\(a\) GDPR\), not on statute/);
  });

  it('refuses a consent-based flow whose only row rests on a statute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lotse-flows-basis-'));
    try {
      const file = join(dir, 'flows.yaml');
      writeFileSync(
        file,
        `
agency_types: { foreign-office: { name: FO }, lotsenhaus: { name: Hub } }
purposes: { migration-counselling: { title: MBE, proto: PURPOSE_MIGRATION_COUNSELLING } }
categories: { languages: { title: Languages, proto: DATA_CATEGORY_LANGUAGES } }
flows:
  - { id: by-statute, sender: foreign-office, recipient: lotsenhaus, channel: event:ReferralRequested, purpose: migration-counselling, categories: [languages], legal_basis: § 87 AufenthG, description: d }
`,
      );
      const statuteTable = loadFlowTable(file);
      const query = { ...languagesToHub, categories: [C.DATA_CATEGORY_LANGUAGES] };
      expect(refusal(() => requireFlow({ ...query, basis: 'consent' }, statuteTable)).missing).toBe('basis');
      expect(requireFlow({ ...query, basis: 'statute' }, statuteTable).id).toBe('by-statute');
      // Without a basis named, any row that covers the categories still answers (as before).
      expect(requireFlow(query, statuteTable).id).toBe('by-statute');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the languages on the referral request: the routing event to a provider may not carry them', () => {
    const error = refusal(() =>
      requireFlow({ sender: 'lotsenhaus', recipient: 'migration-services', channel: 'event:ReferralRouted', purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING, categories: [C.DATA_CATEGORY_AGE_GROUP, C.DATA_CATEGORY_LANGUAGES], basis: 'consent' }),
    );
    expect(error.missing).toBe('categories');
    expect(error.values).toEqual(['languages']);
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
    expect(load(row({ requires: 'referral-with-caller' }))().flows[0]!.requires).toBe('referral-with-caller');
  });
  it.each([
    [{ legal_basis: 'because we can' }, /legal_basis .* neither consent nor a named statute/],
    [{ legal_basis: '""' }, /needs a legal_basis/],
    [{ recipient: 'c' }, /agency type "c"/],
    [{ purpose: 'q' }, /purpose "q"/],
    [{ categories: '[health]' }, /category "health"/],
    [{ channel: 'nats.whatever' }, /channel "nats.whatever"/],
    [{ description: '""' }, /needs a description/],
    [{ requires: 'a-friendly-face' }, /requires "a-friendly-face" is none of referral-with-caller/],
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
