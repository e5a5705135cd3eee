// The partner directory at the hub, booted with create() against the real PostgreSQL and NATS
// JetStream, with the Koblenz demo seed, driven through lotse.lotsenhaus.v1.DirectoryService.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { directory as dir, directoryEvents, common } from '@lotse/contracts';
import type { TestDatabase } from '@lotse/db';
import { createClient, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { connectNats, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import type { AgencyContext, RunningAgency } from '@lotse/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropWhenIdle, grpcError, natsUrl, randomId } from '@lotse/testing';
import { create, defaultDirectoryFile, type HubDb } from '../src/index.js';
import { defaultDirectorySeedFile, expireDirectoryContacts, remindStaleEntries, seedId, type DirectoryDb } from '../src/directory/index.js';
import { loadRetentionPolicy, retentionRule } from '@lotse/audit';

const { EntryKind } = dir;
// The demo seed names these deployments as owners; the test's certificates carry the same ids.
// Only the hub runs (with a stream of its own, a random id: "lotsenhaus" in the seed is the hub).
const hubId = randomId('lh');
const caritasId = 'caritas-koblenz';
const jobCentreId = 'jobcenter-koblenz';

let tmp: string;
let database: TestDatabase;
let hub: ReturnType<typeof create>;
let running: RunningAgency<HubDb>;
let nats: NatsClients;
let clock = new Date('2026-12-01T10:00:00Z');
let asHub: PromiseClient<dir.DirectoryServiceClient>;
let asCaritas: PromiseClient<dir.DirectoryServiceClient>;
let asJobCentre: PromiseClient<dir.DirectoryServiceClient>;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'lotse-directory-test-'));
  const pkiDir = join(tmp, 'pki');
  await ensureDevPki(pkiDir, [
    { id: hubId, agencyType: 'lotsenhaus' },
    { id: caritasId, agencyType: 'migration-services' },
    { id: jobCentreId, agencyType: 'job-centre' },
  ]);
  database = await createTestDatabase('lotse_directory_test');
  nats = await connectNats({ servers: natsUrl, name: 'directory-test' });
  // The hub's stream is named after its deployment id; a leftover from another run goes first.
  // A routing directory of its own: the hub follows only streams of this test (none of the real ids).
  const directoryFile = join(tmp, 'routing.json');
  writeFileSync(
    directoryFile,
    JSON.stringify({
      region: 'Test',
      municipalities: JSON.parse(readFileSync(defaultDirectoryFile, 'utf8')).municipalities,
      referrers: [{ agencyId: randomId('fo'), name: 'Test-ABH', agencyType: 'foreign-office' }],
      providers: [],
    }),
  );
  hub = create(
    {
      agencyId: hubId,
      agencyType: 'lotsenhaus',
      grpc: { host: '127.0.0.1', port: 0 },
      database: { url: database.url, dataDir: 'unused' },
      natsUrl,
      pkiDir,
      logLevel: 'silent',
      directoryFile,
      partnerDirectory: { seedFile: defaultDirectorySeedFile, staleMonths: 6, reminderIntervalMs: 0 },
    },
    { now: () => clock },
  );
  running = await hub.start();
  const address = `127.0.0.1:${running.grpcPort}`;
  asHub = createClient(dir.DirectoryServiceClient, address, loadIdentity(pkiDir, hubId));
  asCaritas = createClient(dir.DirectoryServiceClient, address, loadIdentity(pkiDir, caritasId));
  asJobCentre = createClient(dir.DirectoryServiceClient, address, loadIdentity(pkiDir, jobCentreId));
});

afterAll(async () => {
  asHub?.close();
  asCaritas?.close();
  asJobCentre?.close();
  await hub?.stop();
  if (nats) {
    await nats.jsm.streams.delete(streamName(hubId)).catch(() => undefined);
    await nats.close();
  }
  if (database) await dropWhenIdle(database);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const db = () => (running.ctx as unknown as AgencyContext<DirectoryDb>).db;
const caritasOrg = seedId('caritas-koblenz');
let n = 0;
const rid = () => `dir-${Date.now()}-${n++}`;

async function expectStatus(call: Promise<unknown>, code: status, field?: string) {
  const error = await grpcError(call);
  expect(error.code, error.details).toBe(code);
  if (field && code === status.INVALID_ARGUMENT) expect(fieldViolationsOf(error).map((v) => v.field)).toContain(field);
  else if (field) expect(error.details).toContain(field);
  return error;
}

describe('the demo seed of the Koblenz region', () => {
  it('fills the empty directory with the one-stop partners and the providers, each with offers, locations and contacts', async () => {
    const { organizations } = await asJobCentre.listOrganizations({ municipalityCode: '' });
    expect(organizations.length).toBe(11);
    const names = organizations.map((o) => o.name);
    for (const expected of ['Volkshochschule Koblenz', 'Handwerkskammer Koblenz', 'IHK Koblenz', 'Jobcenter Koblenz', 'Agentur für Arbeit Koblenz-Mayen']) expect(names).toContain(expected);
    for (const o of organizations) {
      expect(o.offers.length, o.name).toBeGreaterThan(0);
      expect(o.locations.length, o.name).toBeGreaterThan(0);
      expect(o.contacts.length, o.name).toBeGreaterThan(0);
      for (const c of o.contacts) expect(c.personName, 'contacts are roles').toBe('');
    }
    const caritas = organizations.find((o) => o.id === caritasOrg)!;
    expect(caritas.ownerAgencyId).toBe(caritasId);
    expect(caritas.offers[0]!.languagesOffered).toContain('ar');
    expect(caritas.procedures[0]!.steps.length).toBe(3);
    expect(caritas.locations.find((l) => l.city === 'Koblenz')!.openingHours.length).toBeGreaterThan(3);
  });

  it('filters by municipality: an offer for Koblenz only is not shown for Mayen', async () => {
    const mayen = await asHub.listOrganizations({ municipalityCode: 'mayen' });
    expect(mayen.organizations.map((o) => o.id)).not.toContain(seedId('jobcenter-koblenz'));
    expect(mayen.organizations.map((o) => o.id)).toContain(seedId('jobcenter-mayen-koblenz'));
    await expectStatus(asHub.listOrganizations({ municipalityCode: 'berlin' }), status.INVALID_ARGUMENT, 'municipality_code');
  });

  it('is not seeded again over the partners’ edits at the next start', async () => {
    const before = await db().selectFrom('directory_organization').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const { seedDirectory } = await import('../src/directory/index.js');
    expect(await seedDirectory(running.ctx, ['koblenz'])).toBe(0);
    const after = await db().selectFrom('directory_organization').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});

describe('editing: each partner only its own entries', () => {
  it('the owner changes its offer; the change is confirmed as of now', async () => {
    clock = new Date('2026-12-02T08:00:00Z');
    const { organization } = await asCaritas.getOrganization({ id: caritasOrg });
    const offer = organization!.offers.find((o) => o.name.startsWith('Erstberatung'))!;
    const { offer: changed } = await asCaritas.upsertOffer({ requestId: rid(), offer: { ...offer, languagesOffered: ['de', 'ar', 'uk', 'fa'], capacity: [] } });
    expect(changed!.languagesOffered).toEqual(['de', 'ar', 'uk', 'fa']);
    expect(changed!.lastVerifiedAt!.toISOString()).toBe('2026-12-02T08:00:00.000Z');
  });

  it('another partner may not change it, nor add to the organisation, nor take it over', async () => {
    const { organization } = await asCaritas.getOrganization({ id: caritasOrg });
    const offer = organization!.offers[0]!;
    await expectStatus(asJobCentre.upsertOffer({ requestId: rid(), offer: { ...offer, name: 'Übernommen' } }), status.PERMISSION_DENIED, 'caritas-koblenz');
    await expectStatus(
      asJobCentre.upsertContact({ requestId: rid(), contact: dir.DirectoryContact.fromPartial({ organizationId: caritasOrg, role: 'Falsch', email: 'x@example.org' }) }),
      status.PERMISSION_DENIED,
      'may edit only its own entries',
    );
    await expectStatus(asJobCentre.upsertOrganization({ requestId: rid(), organization: { ...organization!, name: 'Übernommen' } }), status.PERMISSION_DENIED, 'kept by caritas-koblenz');
    await expectStatus(asJobCentre.confirmEntry({ requestId: rid(), kind: EntryKind.ENTRY_KIND_ORGANIZATION, id: caritasOrg }), status.PERMISSION_DENIED, 'kept by');
    // Moving its own offer under another's organisation is refused, too.
    const jcOffer = (await asJobCentre.getOrganization({ id: seedId('jobcenter-koblenz') })).organization!.offers[0]!;
    await expectStatus(asJobCentre.upsertOffer({ requestId: rid(), offer: { ...jcOffer, organizationId: caritasOrg } }), status.PERMISSION_DENIED);
    // The hub's own certificate keeps only the organisations without a deployment, not Caritas's.
    await expectStatus(asHub.upsertOffer({ requestId: rid(), offer: { ...offer, name: 'Vom Hub' } }), status.PERMISSION_DENIED, 'caritas-koblenz');
    const unchanged = (await asHub.getOrganization({ id: caritasOrg })).organization!;
    expect(unchanged.name).toBe(organization!.name);
    expect(unchanged.offers.map((o) => o.name)).not.toContain('Übernommen');
  });

  it('a new organisation belongs to its creator', async () => {
    const { organization } = await asJobCentre.upsertOrganization({ requestId: rid(), organization: dir.DirectoryOrganization.fromPartial({ name: 'Jobcenter Koblenz – Außenstelle', email: 'aussen@jobcenter.example' }) });
    expect(organization!.ownerAgencyId).toBe(jobCentreId);
    expect(organization!.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a retry with the same request id returns the first result and writes once', async () => {
    const requestId = rid();
    const req = { requestId, contact: dir.DirectoryContact.fromPartial({ organizationId: caritasOrg, role: 'Sprechstunde Vallendar', phone: '+49 261 0000201' }) };
    const first = await asCaritas.upsertContact(req);
    const again = await asCaritas.upsertContact(req);
    expect(again.contact!.id).toBe(first.contact!.id);
    const rows = await db().selectFrom('directory_contact').select('id').where('role', '=', 'Sprechstunde Vallendar').execute();
    expect(rows.length).toBe(1);
    await expectStatus(asCaritas.upsertContact({ ...req, contact: { ...req.contact, role: 'Anders' } }), status.INVALID_ARGUMENT, 'request_id');
  });
});

describe('bad input is refused naming the field', () => {
  it('offers, locations, contacts and procedures', async () => {
    const offer = dir.DirectoryOffer.fromPartial({ organizationId: caritasOrg, name: '', minimumAge: 30, maximumAge: 20, languagesOffered: ['Arabisch'], municipalitiesServed: ['berlin'], freeOfCharge: true, feesDescription: '10 €' });
    const e = await expectStatus(asCaritas.upsertOffer({ requestId: rid(), offer }), status.INVALID_ARGUMENT, 'offer.name');
    expect(fieldViolationsOf(e).map((v) => v.field)).toEqual(
      expect.arrayContaining(['offer.name', 'offer.minimum_age', 'offer.languages_offered[0]', 'offer.municipalities_served[0]', 'offer.fees_description']),
    );
    await expectStatus(asCaritas.upsertOffer({ requestId: 'bad id!', offer: { ...offer, name: 'x' } }), status.INVALID_ARGUMENT, 'request_id');
    await expectStatus(
      asCaritas.upsertLocation({ requestId: rid(), location: dir.DirectoryLocation.fromPartial({ organizationId: caritasOrg, name: 'X', street: 'Y 1', postalCode: '5606', city: 'Koblenz', openingHours: [{ weekday: 8, opensAt: '12:00', closesAt: '09:00' }] }) }),
      status.INVALID_ARGUMENT,
      'location.postal_code',
    );
    const hours = await grpcError(
      asCaritas.upsertLocation({ requestId: rid(), location: dir.DirectoryLocation.fromPartial({ organizationId: caritasOrg, name: 'X', street: 'Y 1', postalCode: '56068', city: 'Koblenz', openingHours: [{ weekday: 8, opensAt: '12:00', closesAt: '09:00' }] }) }),
    );
    expect(fieldViolationsOf(hours).map((v) => v.field)).toEqual(['location.opening_hours[0].weekday', 'location.opening_hours[0].closes_at']);
    // A private person only with that person's consent.
    await expectStatus(
      asCaritas.upsertContact({ requestId: rid(), contact: dir.DirectoryContact.fromPartial({ organizationId: caritasOrg, role: 'Beratung', personName: 'Erika Mustermann', email: 'e@example.org' }) }),
      status.INVALID_ARGUMENT,
      'contact.person_name',
    );
    const consented = await asCaritas.upsertContact({ requestId: rid(), contact: dir.DirectoryContact.fromPartial({ organizationId: caritasOrg, role: 'Beratung', personName: 'Erika Mustermann', personConsented: true, email: 'e@example.org' }) });
    expect(consented.contact!.personName).toBe('Erika Mustermann');
    await expectStatus(asCaritas.upsertProcedure({ requestId: rid(), procedure: dir.DirectoryProcedure.fromPartial({ organizationId: caritasOrg, title: 'Leer', steps: [] }) }), status.INVALID_ARGUMENT, 'procedure.steps');
    await expectStatus(asCaritas.upsertOffer({ requestId: rid(), offer: { ...offer, name: 'x', minimumAge: 0, maximumAge: 0, languagesOffered: [], municipalitiesServed: [], feesDescription: '', organizationId: 'not-a-uuid' } }), status.INVALID_ARGUMENT, 'offer.organization_id');
    await expectStatus(asCaritas.getOrganization({ id: '0190a0a0-0000-7000-8000-000000000000' }), status.NOT_FOUND, 'id');
    await expectStatus(
      asCaritas.upsertOffer({ requestId: rid(), offer: { ...offer, name: 'x', minimumAge: 0, maximumAge: 0, languagesOffered: [], municipalitiesServed: [], feesDescription: '', locationIds: [seedId('vhs-koblenz', 'vhs-haus')] } }),
      status.NOT_FOUND,
      'offer.location_ids[0]',
    );
    await expectStatus(asCaritas.confirmEntry({ requestId: rid(), kind: 0, id: caritasOrg }), status.INVALID_ARGUMENT, 'kind');
  });
});

describe('stale entries and reminders', () => {
  it('lists what was not confirmed within N months, reminds each owner once, and confirming clears it', async () => {
    clock = new Date('2026-12-02T09:00:00Z');
    // The seed verified everything on 2026-10-01, the Handwerkskammer on 2026-03-02: only it is over 6 months.
    const { entries } = await asHub.listStale({ months: 0 });
    expect(entries.length).toBeGreaterThan(0);
    expect(new Set(entries.map((e) => e.organizationId))).toEqual(new Set([seedId('hwk-koblenz')]));
    expect(entries.map((e) => e.kind)).toEqual(expect.arrayContaining([EntryKind.ENTRY_KIND_ORGANIZATION, EntryKind.ENTRY_KIND_OFFER, EntryKind.ENTRY_KIND_LOCATION, EntryKind.ENTRY_KIND_CONTACT]));
    // With 1 month, everything the seed verified in October is stale too, but not what was edited today.
    const oneMonth = await asHub.listStale({ months: 1 });
    expect(oneMonth.entries.length).toBeGreaterThan(entries.length);
    expect(oneMonth.entries.map((e) => e.label)).not.toContain('Sprechstunde Vallendar');
    await expectStatus(asHub.listStale({ months: 121 }), status.INVALID_ARGUMENT, 'months');

    const sent = await remindStaleEntries(running.ctx, 6);
    expect(sent).toBe(entries.length);
    expect(await remindStaleEntries(running.ctx, 6)).toBe(0);
    const outbox = await (db() as any).selectFrom('outbox').select(['subject', 'payload', 'event_type']).where('event_type', '=', 'DirectoryEntryVerificationDue').execute();
    expect(outbox.length).toBe(entries.length);
    // Addressed to the owner (the Handwerkskammer has no deployment: the Lotsenhaus keeps it).
    expect(outbox[0].subject).toBe(`lotse.${hubId}.directory-entry-verification-due.${hubId}`);
    const { envelope } = await import('@lotse/contracts');
    const msg = directoryEvents.DirectoryEntryVerificationDue.decode(envelope.Envelope.decode(outbox[0].payload).payload);
    expect(msg.ownerAgencyId).toBe(hubId);
    expect(msg.dueSince!.toISOString().slice(0, 10)).toBe('2026-09-02');

    await asHub.confirmEntry({ requestId: rid(), kind: EntryKind.ENTRY_KIND_ORGANIZATION, id: seedId('hwk-koblenz') });
    const after = await asHub.listStale({ months: 0 });
    expect(after.entries.map((e) => e.id)).not.toContain(seedId('hwk-koblenz'));
    expect(after.entries.length).toBe(entries.length - 1);
  });
});

describe('capacity comes from the providers’ SetCapacity', () => {
  it('an offer linked to a provider shows what it last published', async () => {
    await db()
      .insertInto('provider_capacity')
      .values({ provider_id: caritasId, kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 4, changed_at: new Date('2026-12-01T12:00:00Z') })
      .execute();
    const { organization } = await asJobCentre.getOrganization({ id: caritasOrg });
    const offer = organization!.offers.find((o) => o.providerAgencyId === caritasId)!;
    expect(offer.capacity).toEqual([{ kind: common.CapacityKind.CAPACITY_KIND_COUNSELLING_SLOTS, free: 4, changedAt: new Date('2026-12-01T12:00:00Z') }]);
  });
});

describe('retention of contacts (policy/retention.json, lotsenhaus.directory-contacts)', () => {
  it('deletes a contact not confirmed for the period, with an audit entry that names the entry, not the person', async () => {
    const rule = retentionRule(loadRetentionPolicy(), 'lotsenhaus', 'directory_contacts');
    expect(rule.period.iso).toBe('P2Y');
    const fresh = await asCaritas.upsertContact({ requestId: rid(), contact: dir.DirectoryContact.fromPartial({ organizationId: caritasOrg, role: 'Neu bestätigt', personName: 'Erika Beispiel', personConsented: true, email: 'neu@example.org' }) });
    // Two years and a day after the seed's confirmation (2026-10-01), a day after the fresh one's.
    clock = new Date('2028-10-02T10:00:00Z');
    const before = await db().selectFrom('directory_contact').select('id').execute();
    const deleted = await expireDirectoryContacts(running.ctx, rule);
    const after = await db().selectFrom('directory_contact').select('id').execute();
    expect(deleted).toBe(before.length - after.length);
    expect(after.map((c) => c.id)).toContain(fresh.contact!.id);
    expect(after.map((c) => c.id)).not.toContain(seedId('caritas-koblenz', 'caritas-mbe-team'));
    const audit = await (db() as any).selectFrom('audit_log').selectAll().where('legal_basis', '=', 'retention: lotsenhaus.directory-contacts').execute();
    expect(audit.length).toBe(deleted);
    expect(JSON.stringify(audit)).not.toContain('Erika');
    clock = new Date('2026-12-02T10:00:00Z');
  });
});
