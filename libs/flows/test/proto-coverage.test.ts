// A test fails if any code path sends personal data outside the flow table: every event in
// proto/ and every RPC whose response carries personal data needs a row, every event a service
// publishes needs a row with that service as sender, and no row names a channel that is gone.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { flowTable, type Flow } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const protoRoot = join(repoRoot, 'proto');
const table = flowTable();

/**
 * Which proto fields are personal data, and of which category. By field name wherever it occurs
 * (a new message with `given_names` is caught without touching this list) …
 */
const personalFieldNames: Record<string, string[]> = {
  given_names: ['identity'],
  family_name: ['identity'],
  birth_date: ['identity'],
  nationality: ['nationality'],
  languages: ['languages'],
  residence_status: ['residence-status'],
  municipality: ['municipality'],
  age_group: ['age-group'],
};
/** … and these fields, whose content carries personal data under another name. */
const personalFieldsByPath: Record<string, string[]> = {
  // "Referral … requested (andernach, AGE_GROUP_ADULT)" until a withdrawal erases it.
  'lotse.lotsenhaus.v1.TimelineEntry.summary': ['municipality', 'age-group'],
  // An event as it arrived: at most the routing facts of a referral event.
  'lotse.operator.v1.ParkedMessage.data': ['municipality', 'age-group', 'languages'],
  // The rendered transparency report names the newcomer and what the foreign office holds.
  'lotse.data_protection.v1.GetTransparencyReportResponse.html': ['identity', 'nationality', 'languages', 'residence-status', 'municipality'],
};

function protoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? protoFiles(path) : name.endsWith('.proto') ? [path] : [];
  });
}

function loadProtos(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(protoRoot, target));
  root.loadSync(protoFiles(join(protoRoot, 'lotse')).map((f) => relative(protoRoot, f)), { keepCase: true });
  root.resolveAll();
  return root;
}

function all<T>(ns: protobuf.NamespaceBase, type: new (...args: any[]) => T): T[] {
  return ns.nestedArray.flatMap((n) => [...(n instanceof type ? [n] : []), ...(n instanceof protobuf.Namespace ? all(n, type) : [])]);
}

const fullName = (t: protobuf.ReflectionObject) => t.fullName.replace(/^\./, '');

/** Categories of personal data a message carries, through nested messages. */
function categoriesOf(type: protobuf.Type, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  if (seen.has(type.fullName)) return out;
  seen.add(type.fullName);
  for (const field of type.fieldsArray) {
    for (const c of personalFieldNames[field.name] ?? []) out.add(c);
    for (const c of personalFieldsByPath[`${fullName(type)}.${field.name}`] ?? []) out.add(c);
    if (field.resolvedType instanceof protobuf.Type) for (const c of categoriesOf(field.resolvedType, seen)) out.add(c);
  }
  return out;
}

const rowsFor = (channel: string): Flow[] => table.flows.filter((f) => f.channels.includes(channel));

const root = loadProtos();
const eventTypes = all(root.lookup('lotse.events.v1') as protobuf.Namespace, protobuf.Type).filter((t) => t.name !== 'Envelope' && t.parent === root.lookup('lotse.events.v1'));
const methods = all(root.lookup('lotse') as protobuf.Namespace, protobuf.Service).flatMap((s) =>
  s.methodsArray.map((m) => ({ channel: `grpc:${fullName(s)}/${m.name}`, categories: categoriesOf(m.resolvedResponseType!) })),
);

describe('the flow table covers every channel in proto/', () => {
  it('finds the events and the RPCs (the enumeration itself works)', () => {
    const names = eventTypes.map((t) => t.name);
    for (const name of ['ReferralRequested', 'ReferralRouted', 'ReferralStatusChanged', 'ConsentWithdrawn', 'ErasureRequested', 'ErasureConfirmed']) expect(names).toContain(name);
    const disclose = methods.find((m) => m.channel.endsWith('ForeignOfficeService/DiscloseNewcomerData'))!;
    expect([...disclose.categories].sort()).toEqual(['identity', 'languages', 'municipality', 'nationality', 'residence-status']);
    expect(categoriesOf(root.lookupType('lotse.events.v1.ReferralRequested'))).toEqual(new Set(['municipality', 'age-group', 'languages']));
  });

  it.each(eventTypes.map((t) => [t.name, t] as const))('event %s has a flow row covering what it carries', (name, type) => {
    const rows = rowsFor(`event:${name}`);
    expect(rows.map((r) => r.id), `no row of policy/flows.yaml has channel event:${name}`).not.toEqual([]);
    const carried = [...categoriesOf(type)];
    for (const row of rows) expect(row.categories, `row ${row.id} lets ${name} through but not all it carries`).toEqual(expect.arrayContaining(carried));
  });

  it('every RPC whose response carries personal data has flow rows covering it', () => {
    const missing: string[] = [];
    for (const m of methods.filter((x) => x.categories.size > 0)) {
      const rows = rowsFor(m.channel);
      if (rows.length === 0) missing.push(`${m.channel} (${[...m.categories].join(', ')}): no row`);
      for (const row of rows) {
        const lacking = [...m.categories].filter((c) => !row.categories.includes(c));
        if (lacking.length) missing.push(`${m.channel}: row ${row.id} lacks ${lacking.join(', ')}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names no channel that does not exist', () => {
    const known = new Set([...eventTypes.map((t) => `event:${t.name}`), ...methods.map((m) => m.channel)]);
    const stale = table.flows.flatMap((f) => f.channels.filter((c) => !known.has(c)).map((c) => `${f.id}: ${c}`));
    expect(stale).toEqual([]);
  });
});

describe('the services publish only events the flow table lets them send', () => {
  const servicesDir = join(repoRoot, 'services');
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
      return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
    });
  const published = readdirSync(servicesDir)
    .filter((service) => table.agencyTypes[service])
    .flatMap((service) =>
      sources(join(servicesDir, service, 'src')).flatMap((file) =>
        // A direct publish in a handler (the event's type is its codec's name: `rt.publish(trx,
        // events.ReferralRequested, …)`), or an event a decider declares it publishes (its Outgoing
        // union: `{ type: 'ReferralRouted'; message: events.ReferralRouted; … }`, published by the hub's carry-out).
        [
          ...readFileSync(file, 'utf8').matchAll(/\.publish\(\s*trx\s*,\s*\w+\.(\w+)\s*,/g),
          ...readFileSync(file, 'utf8').matchAll(/\{\s*type:\s*'(\w+)';\s*message:\s*\w+\.\1\b/g),
        ].map((m) => ({ service, file: relative(repoRoot, file), event: m[1]! })),
      ),
    );

  it('finds the publishing code paths', () => {
    expect(published.map((p) => `${p.service}:${p.event}`)).toEqual(
      expect.arrayContaining(['foreign-office:ReferralRequested', 'foreign-office:ConsentWithdrawn', 'lotsenhaus:ReferralRouted', 'migration-services:ErasureConfirmed']),
    );
  });

  it('each has a row with that service as sender', () => {
    const outside = published.filter((p) => !table.flows.some((f) => f.senders.includes(p.service) && f.channels.includes(`event:${p.event}`)));
    expect(outside.map((p) => `${p.file}: ${p.service} publishes ${p.event}`)).toEqual([]);
  });
});
