// The set-up the shared referral workflow suite runs on: the service booted on its own database
// and NATS stream, clients under its own and another agency's certificate, and the helpers its
// cases use to play the hub and to read back what the service wrote and published.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { common, envelope, events } from '@lotse/contracts';
import { createTestDatabase, type TestDatabase } from '@lotse/db';
import { fieldViolationsOf } from '@lotse/grpc';
import { connectNats, durableNameFor, eventSubject, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect } from 'vitest';
import { grpcError, natsUrl, publishEvent, randomId, streamEvents, waitConsumed, waitFor } from './index.js';
import type { ReferralWorkflowClient, ReferralWorkflowTarget, Service } from './referral-workflow-target.js';

const { AgeGroup, ReferralType } = common;

/**
 * A client whose calls go to the one `connect` returns when they are made: the cases take it when
 * they are declared, before beforeAll has connected.
 */
function connectedLater(connect: () => ReferralWorkflowClient): ReferralWorkflowClient {
  return {
    acceptReferral: (request) => connect().acceptReferral(request),
    declineReferral: (request) => connect().declineReferral(request),
    completeReferral: (request) => connect().completeReferral(request),
    requestReferral: (request) => connect().requestReferral(request),
    withdrawReferral: (request) => connect().withdrawReferral(request),
    setCapacity: (request) => connect().setCapacity(request),
    close: () => connect().close(),
  };
}

export type ReferralWorkflowFixture = ReturnType<typeof referralWorkflowFixture>;

/** Boots the target before the suite's cases and takes it down after them (the hooks of the calling suite). */
export function referralWorkflowFixture(target: ReferralWorkflowTarget) {
  const hubId = randomId('hub');
  const agencyId = randomId(target.agencyType.replace(/-/g, ''));
  const otherId = randomId('fo');
  const ownerId = randomId('fo');

  let dir: string;
  let database: TestDatabase;
  let service: Service | undefined;
  let running: Awaited<ReturnType<Service['start']>>;
  let nats: NatsClients;
  let connected: ReferralWorkflowClient | undefined;
  let connectedOutsider: ReferralWorkflowClient | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lotse-referral-workflow-'));
    const pkiDir = join(dir, 'pki');
    await ensureDevPki(pkiDir, [
      { id: agencyId, agencyType: target.agencyType },
      { id: otherId, agencyType: 'foreign-office' },
    ]);
    database = await createTestDatabase(`lotse_${target.agencyType.replace(/-/g, '_')}_workflow`);
    const agreement = { senderType: target.agencyType, recipientType: target.referOn.recipientType, purposes: [target.referOn.purpose] };
    service = target.create(
      {
        agencyId,
        agencyType: target.agencyType,
        grpc: { host: '127.0.0.1', port: 0 },
        database: { url: database.url, dataDir: 'unused' },
        natsUrl,
        pkiDir,
        logLevel: 'silent',
        hubAgencyId: hubId,
        dataOwnerId: ownerId,
      },
      { agreements: { agreements: async () => [agreement] } },
    );
    running = await service.start();
    nats = await connectNats({ servers: natsUrl, name: `${target.agencyType}-referral-workflow-test` });
    connected = target.client(`127.0.0.1:${running.grpcPort}`, loadIdentity(pkiDir, agencyId));
    connectedOutsider = target.client(`127.0.0.1:${running.grpcPort}`, loadIdentity(pkiDir, otherId));
  });

  afterAll(async () => {
    connected?.close();
    connectedOutsider?.close();
    await service?.stop();
    if (nats) {
      for (const id of [hubId, agencyId]) await nats.jsm.streams.delete(streamName(id)).catch(() => undefined);
      await nats.close();
    }
    if (database) await database.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // --- helpers -----------------------------------------------------------------------------------

  const db = () => running.ctx.db;
  const durable = () => durableNameFor(agencyId, `lotse.${hubId}.*.${agencyId}`);

  /** Plays the hub: an event addressed to this agency. */
  const fromHub = <T>(eventType: string, codec: { encode(m: T): { finish(): Uint8Array } }, message: T, caseRef: string) =>
    publishEvent(nats, { producer: hubId, eventType, audience: agencyId, codec, message, caseRef });

  /** Waits until the agency has taken in every event the hub sent it. */
  const hubEventsConsumed = () => waitConsumed(nats, hubId, durable());

  /** The agency's calls under its own certificate, and under another agency's. */
  const client = connectedLater(() => connected!);
  const outsider = connectedLater(() => connectedOutsider!);

  /** A referral routed here for a case of its own; waits until it is in the inbox. */
  async function routed(options: { ownerAgencyId?: string } = {}) {
    const referralId = uuidv7();
    const caseRef = `C-${referralId.slice(-12).toUpperCase()}`;
    const consentId = uuidv7();
    const referrerAgencyId = randomId('referrer');
    await fromHub(
      'ReferralRouted',
      events.ReferralRouted,
      events.ReferralRouted.fromPartial({
        referralId,
        caseRef,
        referrerAgencyId,
        providerId: agencyId,
        purpose: target.routedPurpose,
        consentId,
        ageGroup: AgeGroup.AGE_GROUP_ADULT,
        routingReason: 'agreement',
        routedAt: new Date(),
        ownerAgencyId: options.ownerAgencyId ?? ownerId,
      }),
      caseRef,
    );
    await waitFor(() => inboxRow(referralId), `referral ${referralId} in ${target.inboxTable}`);
    return { referralId, caseRef, consentId, referrerAgencyId };
  }

  async function accepted(options: { ownerAgencyId?: string } = {}) {
    const referral = await routed(options);
    await client.acceptReferral({ requestId: `accept-${referral.referralId}`, referralId: referral.referralId });
    return referral;
  }

  const referOnRequest = (requestId: string, referralId: string) => ({
    requestId,
    referralId,
    caseRef: '',
    purpose: target.referOn.purpose,
    type: ReferralType.REFERRAL_TYPE_REFERRAL,
    recipientType: target.referOn.recipientType,
  });

  async function referredOn() {
    const source = await accepted();
    const { referral } = await client.requestReferral(referOnRequest(`refer-${source.referralId}`, source.referralId));
    return { source, referralId: referral!.referralId };
  }

  const inboxRow = (referralId: string) => db().selectFrom(target.inboxTable).selectAll().where('referral_id', '=', referralId).executeTakeFirst();
  const outgoingRow = (referralId: string) => db().selectFrom('outgoing_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();

  /** Events of a type in the agency's outbox (committed with the change), decoded. */
  async function outbox<T>(eventType: string, codec: { decode(b: Uint8Array): T }, filter: (m: T) => boolean = () => true) {
    const rows: { event_id: string; case_ref: string; payload: Buffer }[] = await db()
      .selectFrom('outbox')
      .select(['event_id', 'case_ref', 'payload'])
      .where('event_type', '=', eventType)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ eventId: r.event_id, caseRef: r.case_ref, message: codec.decode(envelope.Envelope.decode(r.payload).payload) })).filter((e) => filter(e.message));
  }

  /** Events of a type the relay published to the agency's stream, decoded. */
  async function published<T>(eventType: string, codec: { decode(b: Uint8Array): T }, filter: (m: T) => boolean) {
    return waitFor(async () => {
      const found = (await streamEvents(nats, agencyId))
        .filter((e) => e.subject === eventSubject(agencyId, eventType))
        .map((e) => ({ eventId: e.envelope.eventId, message: codec.decode(e.envelope.payload) }))
        .filter((e) => filter(e.message));
      return found.length ? found : undefined;
    }, `${eventType} in ${agencyId}'s stream`);
  }

  /** Everything the workflow writes: rows of its tables, outbox events and stored answers. */
  async function snapshot() {
    const all = (table: string, order: string) => db().selectFrom(table).selectAll().orderBy(order).execute();
    const outboxIds = (await db().selectFrom('outbox').select('event_id').orderBy('seq').execute()).map((r: { event_id: string }) => r.event_id);
    const answers = (await db().selectFrom('idempotency').select(['method', 'request_id']).orderBy('method').orderBy('request_id').execute()).map(
      (r: { method: string; request_id: string }) => `${r.method}/${r.request_id}`,
    );
    return { inbox: await all(target.inboxTable, 'referral_id'), outgoing: await all('outgoing_referral', 'referral_id'), outboxIds, answers };
  }

  async function expectInvalid(call: Promise<unknown>, fields: string[]) {
    const error = await grpcError(call);
    expect(error.code, error.details).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolationsOf(error).map((v) => v.field)).toEqual(fields);
    return error;
  }

  async function expectCode(call: Promise<unknown>, code: status, details: RegExp) {
    const error = await grpcError(call);
    expect(error.code, error.details).toBe(code);
    expect(error.details).toMatch(details);
  }

  const reused = /^request_id: was already used for a different request$/;

  return {
    target,
    statuses: target.statuses,
    hubId,
    agencyId,
    ownerId,
    client,
    outsider,
    fromHub,
    hubEventsConsumed,
    routed,
    accepted,
    referOnRequest,
    referredOn,
    inboxRow,
    outgoingRow,
    outbox,
    published,
    snapshot,
    expectInvalid,
    expectCode,
    reused,
  };
}
