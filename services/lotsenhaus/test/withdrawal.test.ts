// Integration tier: the hub after a consent withdrawal — closes referrals, erases its routing
// facts, asks every recipient to erase, tracks each confirmation (Art. 19 GDPR) — and the flow
// table checked on what the hub lets out. Real PostgreSQL and NATS JetStream.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { common, events, lotsenhaus } from '@lotse/contracts';
import { fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { agencySubjects, durableNameFor, eventSubject, type NatsClients } from '@lotse/messaging';
import type { RunningAgency } from '@lotse/runtime';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, type HubDb } from '../src/index.js';
import { grpcError, publishEvent, randomId, startTestNetwork, streamEvents, waitConsumed, waitFor, type TestNetwork } from '@lotse/testing';

const { AgeGroup, ReferralStatus, Purpose, DataCategory } = common;
const { ErasureStatus } = lotsenhaus;

const hubId = randomId('hub');
const referrerId = randomId('fo');
const providerId = randomId('mbe');
const jobCentreId = randomId('jobcenter');
const strangerId = randomId('stranger');
const otherOfficeId = randomId('fo-other');

let net: TestNetwork;
let running: RunningAgency<HubDb>;
let nats: NatsClients;
let client: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
let stranger: PromiseClient<lotsenhaus.LotsenhausServiceClient>;
let otherOffice: PromiseClient<lotsenhaus.LotsenhausServiceClient>;

beforeAll(async () => {
  net = await startTestNetwork({
    name: 'hub-withdrawal',
    members: [
      { id: hubId, agencyType: 'lotsenhaus' },
      { id: referrerId, agencyType: 'foreign-office' },
      { id: strangerId, agencyType: 'marketing-agency' },
      { id: otherOfficeId, agencyType: 'foreign-office' },
    ],
    streams: [providerId],
  });
  nats = net.nats;
  const directoryFile = join(net.dir, 'directory.json');
  writeFileSync(
    directoryFile,
    JSON.stringify({
      region: 'Test region',
      municipalities: [{ code: 'andernach', name: 'Stadt Andernach' }],
      referrers: [{ agencyId: referrerId, name: 'Test-Ausländerbehörde', agencyType: 'foreign-office' }],
      providers: [{ providerId, name: 'Test MBE', agencyType: 'migration-services', agreements: [{ ageGroups: ['adult'], municipalities: ['andernach'] }] }],
    }),
  );
  const started = await net.agency({
    id: hubId,
    database: 'lotse_hub_test',
    create: (config) => create({ ...config, logLevel: 'silent', directoryFile }, { logger: createLogger(hubId, { level: process.env.LOG_LEVEL ?? 'silent' }) }),
  });
  running = started.running;
  client = started.client(lotsenhaus.LotsenhausServiceClient, referrerId);
  otherOffice = started.client(lotsenhaus.LotsenhausServiceClient, otherOfficeId);
  stranger = started.client(lotsenhaus.LotsenhausServiceClient, strangerId);
});

afterAll(() => net?.close());

const newCaseRef = () => `C-${randomBytes(6).toString('hex').toUpperCase()}`;

async function requestReferral(overrides: Partial<events.ReferralRequested> = {}) {
  const message = events.ReferralRequested.fromPartial({
    referralId: uuidv7(),
    caseRef: newCaseRef(),
    referrerAgencyId: referrerId,
    purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
    consentId: uuidv7(),
    consentedRecipients: ['migration-services'],
    municipality: 'andernach',
    ageGroup: AgeGroup.AGE_GROUP_ADULT,
    requestedAt: new Date(),
    ...overrides,
  });
  await publishEvent(nats, { producer: referrerId, codec: events.ReferralRequested, message, caseRef: message.caseRef });
  return message;
}

async function withdraw(referral: { consentId: string; caseRef: string }, recipientsKnown: string[] = []) {
  await publishEvent(nats, {
    producer: referrerId,
    codec: events.ConsentWithdrawn,
    message: events.ConsentWithdrawn.fromPartial({ consentId: referral.consentId, caseRef: referral.caseRef, withdrawnAt: new Date(), recipientsKnown, receivedByAgencyId: providerId }),
    caseRef: referral.caseRef,
  });
  await waitConsumed(nats, referrerId, durableNameFor(hubId, agencySubjects(referrerId)));
}

const hubEvents = async (eventType: string) => (await streamEvents(nats, hubId)).filter((e) => e.envelope.eventType === eventType);
const timeline = (caseRef: string) => client.getCaseTimeline({ caseRef });

describe('a consent withdrawal at the hub', () => {
  it('closes the referral, erases the routing facts, asks every recipient to erase and tracks the confirmations', async () => {
    const referral = await requestReferral();
    await waitFor(async () => (await timeline(referral.caseRef).catch(() => undefined))?.caseSummary?.status === ReferralStatus.REFERRAL_STATUS_PENDING, 'the referral routed');

    // The owner disclosed to the provider and to a job centre under the consent.
    await withdraw(referral, [providerId, jobCentreId]);
    const row = await running.ctx.db.selectFrom('hub_referral').selectAll().where('referral_id', '=', referral.referralId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN, municipality: '', age_group: 0 });
    const t = await timeline(referral.caseRef);
    expect(t.caseSummary).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN, municipality: '', ageGroup: 0 });
    expect(t.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ConsentWithdrawn']);
    expect(t.entries.map((e) => e.summary).join(' ')).not.toContain('andernach');

    // The pending referral is withdrawn at the provider; each recipient is asked, by its own subject.
    const withdrawn = await waitFor(async () => (await hubEvents('ReferralWithdrawn')).filter((e) => e.envelope.caseRef === referral.caseRef), 'ReferralWithdrawn');
    expect(withdrawn.map((e) => e.subject)).toEqual([eventSubject(hubId, 'ReferralWithdrawn', providerId)]);
    const requested = await waitFor(async () => {
      const found = (await hubEvents('ErasureRequested')).filter((e) => e.envelope.caseRef === referral.caseRef);
      return found.length === 2 && found;
    }, 'two ErasureRequested');
    expect(requested.map((e) => e.subject).sort()).toEqual([eventSubject(hubId, 'ErasureRequested', jobCentreId), eventSubject(hubId, 'ErasureRequested', providerId)].sort());

    const listed = await client.listErasures({ status: 0, caseRef: referral.caseRef, pageSize: 0, pageToken: '' });
    // Need to know: another foreign office sees none of the erasures of this office's case.
    expect((await otherOffice.listErasures({ status: 0, caseRef: referral.caseRef, pageSize: 0, pageToken: '' })).erasures).toEqual([]);
    expect((await otherOffice.listErasures({ status: 0, caseRef: '', pageSize: 0, pageToken: '' })).erasures).toEqual([]);
    expect(listed.erasures.map((e) => [e.recipientAgencyId, e.status])).toEqual(
      [
        [hubId, ErasureStatus.ERASURE_STATUS_CONFIRMED],
        [jobCentreId, ErasureStatus.ERASURE_STATUS_OPEN],
        [providerId, ErasureStatus.ERASURE_STATUS_OPEN],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(listed.erasures[0]).toMatchObject({ consentId: referral.consentId, withdrawalReceivedBy: providerId });

    // The provider confirms; the hub records it, and its timeline shows it.
    await publishEvent(nats, {
      producer: providerId,
      codec: events.ErasureConfirmed,
      message: events.ErasureConfirmed.fromPartial({
        consentId: referral.consentId,
        caseRef: referral.caseRef,
        agency: providerId,
        erasedCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_AGE_GROUP],
        retained: [{ category: DataCategory.DATA_CATEGORY_LANGUAGES, statute: '§ 257 HGB' }],
        confirmedAt: new Date(),
      }),
      caseRef: referral.caseRef,
    });
    const confirmed = await waitFor(async () => {
      const { erasures } = await client.listErasures({ status: ErasureStatus.ERASURE_STATUS_CONFIRMED, caseRef: referral.caseRef, pageSize: 0, pageToken: '' });
      return erasures.find((e) => e.recipientAgencyId === providerId);
    }, 'the provider confirmed at the hub');
    expect(confirmed).toMatchObject({
      erasedCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_AGE_GROUP],
      retained: [{ category: DataCategory.DATA_CATEGORY_LANGUAGES, statute: '§ 257 HGB' }],
    });
    expect(confirmed.confirmedAt).toBeInstanceOf(Date);
    const open = await client.listErasures({ status: ErasureStatus.ERASURE_STATUS_OPEN, caseRef: referral.caseRef, pageSize: 0, pageToken: '' });
    expect(open.erasures.map((e) => e.recipientAgencyId)).toEqual([jobCentreId]);
    const after = await timeline(referral.caseRef);
    expect(after.entries.map((e) => e.eventType)).toEqual(['ReferralRequested', 'ReferralRouted', 'ConsentWithdrawn', 'ErasureConfirmed']);
    expect(after.entries[3]!.summary).toContain('§ 257 HGB');

    // The same withdrawal reported again asks nobody twice.
    await withdraw(referral, [providerId, jobCentreId]);
    expect((await hubEvents('ErasureRequested')).filter((e) => e.envelope.caseRef === referral.caseRef)).toHaveLength(2);
  });

  it('never routes a referral whose consent was already withdrawn', async () => {
    const consentId = uuidv7();
    const caseRef = newCaseRef();
    await withdraw({ consentId, caseRef });
    const late = await requestReferral({ consentId, caseRef });
    await waitConsumed(nats, referrerId, durableNameFor(hubId, agencySubjects(referrerId)));
    const row = await running.ctx.db.selectFrom('hub_referral').selectAll().where('referral_id', '=', late.referralId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN, provider_id: null, municipality: '', age_group: 0 });
    expect((await hubEvents('ReferralRouted')).filter((e) => e.envelope.caseRef === caseRef)).toEqual([]);
  });
});

describe('the flow table at the hub', () => {
  it('routes nothing for a purpose no agreement (and no flow) allows: unroutable, saying why', async () => {
    const referral = await requestReferral({ purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION });
    const t = await waitFor(async () => {
      const found = await timeline(referral.caseRef).catch(() => undefined);
      return found?.caseSummary?.status === ReferralStatus.REFERRAL_STATUS_UNROUTABLE && found;
    }, 'the referral unroutable');
    // The cooperation agreements are checked first; the flow table stays the last guard.
    expect(t.entries.at(-1)!.summary).toMatch(/no cooperation agreement lets foreign-office refer to any agency for PURPOSE_LABOUR_MARKET_INTEGRATION/);
    expect((await hubEvents('ReferralRouted')).filter((e) => e.envelope.caseRef === referral.caseRef)).toEqual([]);
  });

  it('shows the case index only to agency types the table names', async () => {
    const referral = await requestReferral();
    await waitFor(async () => (await timeline(referral.caseRef).catch(() => undefined)) !== undefined, 'the case');
    for (const call of [stranger.getCaseTimeline({ caseRef: referral.caseRef }), stranger.listCases({ status: 0, agencyId: '', pageSize: 0, pageToken: '', municipality: '', waitingLongerThanWorkingDays: 0, escalatedOnly: false })]) {
      const error = await grpcError(call);
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.details).toContain('marketing-agency');
    }
  });

  it('ListErasures refuses bad filters, naming the field', async () => {
    // An enum number the .proto does not define is refused at the edge, before the service's own rules run.
    const bad = await grpcError(client.listErasures({ status: 99 as lotsenhaus.ErasureStatus, caseRef: '', pageSize: 0, pageToken: 'nonsense' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(bad).map((v) => v.field)).toEqual(['status']);
    const badToken = await grpcError(client.listErasures({ status: lotsenhaus.ErasureStatus.ERASURE_STATUS_UNSPECIFIED, caseRef: '', pageSize: 0, pageToken: 'nonsense' }));
    expect(fieldViolationsOf(badToken).map((v) => v.field)).toEqual(['page_token']);
  });
});
