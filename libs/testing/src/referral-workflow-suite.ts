// The referral workflow that every receiving agency serves (@lotse/referrals), tested through one
// agency's gRPC API against the real PostgreSQL and NATS JetStream. Each service's test file boots
// the service and runs this suite with what is its own (inbox table, statuses, capacity field).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { common, envelope, events, eventTypeOf } from '@lotse/contracts';
import { createTestDatabase, type Kysely, type TestDatabase } from '@lotse/db';
import { fieldViolationsOf, type TlsIdentity } from '@lotse/grpc';
import { connectNats, durableNameFor, eventSubject, streamName, type NatsClients } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcError, natsUrl, publishEvent, randomId, streamEvents, waitConsumed, waitFor } from './index.js';

const { Purpose, AgeGroup, DeclineReason, ReferralOutcome, ReferralStatus, ReferralType } = common;

type Call<Req, Res> = (request: Req) => Promise<Res>;
type ReferralCall = { requestId: string; referralId: string };
interface Received {
  referralId: string;
  caseRef: string;
  status: number;
  declineReason: number;
  outcome: number;
  decidedAt?: Date | undefined;
}
interface Outgoing {
  referralId: string;
  caseRef: string;
  sourceReferralId: string;
  purpose: number;
  type: number;
  recipientType: string;
  status: number;
}

/** The workflow's calls of an agency's gRPC client (its generated request types fit these). */
export interface ReferralWorkflowClient {
  acceptReferral: Call<ReferralCall, { referral?: Received | undefined }>;
  declineReferral: Call<ReferralCall & { reason: common.DeclineReason }, { referral?: Received | undefined }>;
  completeReferral: Call<ReferralCall & { outcome: common.ReferralOutcome }, { referral?: Received | undefined }>;
  requestReferral: Call<ReferralCall & { caseRef: string; purpose: common.Purpose; type: common.ReferralType; recipientType: string }, { referral?: Outgoing | undefined }>;
  withdrawReferral: Call<ReferralCall, { referral?: Outgoing | undefined }>;
  /** The request's capacity field differs per agency (see capacity.field). */
  setCapacity: Call<any, any>;
  close(): void;
}

/** What the suite gives the service to start with: its config apart from what the service adds. */
export interface SuiteAgencyConfig {
  agencyId: string;
  agencyType: string;
  grpc: { host: string; port: number };
  database: { url: string; dataDir: string };
  natsUrl: string;
  pkiDir: string;
  logLevel: 'silent';
  hubAgencyId: string;
  /** The agency holding the newcomers' data, for a service that is configured with it. */
  dataOwnerId: string;
}

/** The cooperation agreements the service is to work with (instead of asking a hub). */
export interface SuiteAgreements {
  agreements(): Promise<{ senderType: string; recipientType: string; purposes: common.Purpose[] }[]>;
}

interface Service {
  start(): Promise<{ ctx: { db: Kysely<any> }; grpcPort: number }>;
  stop(): Promise<void>;
}

export interface ReferralWorkflowTarget {
  agencyType: string;
  /** The service's create(), with what it needs beyond the suite's config. */
  create(config: SuiteAgencyConfig, overrides: { agreements: SuiteAgreements }): Service;
  client(address: string, identity: TlsIdentity): ReferralWorkflowClient;
  /** The service's table of referrals routed to it. */
  inboxTable: string;
  /** Its status enum. */
  statuses: { pending: number; accepted: number; declined: number; withdrawn: number; completed: number };
  /** A purpose it takes routed referrals for. */
  routedPurpose: common.Purpose;
  /** A referral on that an agreement allows it. */
  referOn: { recipientType: string; purpose: common.Purpose };
  /** Whom it names to the hub as the data owner when the hub named none: the referrer, or its configured owner. */
  unnamedOwner: 'referrer' | 'configured';
  /** Its SetCapacity field (ts-proto name, e.g. freeCounsellingSlots) and what it announces. */
  capacity: { field: string; kind: common.CapacityKind };
}

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function referralWorkflowSuite(name: string, target: ReferralWorkflowTarget): void {
  const hubId = randomId('hub');
  const agencyId = randomId(target.agencyType.replace(/-/g, ''));
  const otherId = randomId('fo');
  const ownerId = randomId('fo');
  const { statuses } = target;

  let dir: string;
  let database: TestDatabase;
  let service: Service | undefined;
  let running: Awaited<ReturnType<Service['start']>>;
  let nats: NatsClients;
  let client: ReferralWorkflowClient;
  let outsider: ReferralWorkflowClient;

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
    client = target.client(`127.0.0.1:${running.grpcPort}`, loadIdentity(pkiDir, agencyId));
    outsider = target.client(`127.0.0.1:${running.grpcPort}`, loadIdentity(pkiDir, otherId));
  });

  afterAll(async () => {
    client?.close();
    outsider?.close();
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
  const fromHub = <T>(codec: { encode(m: T): { finish(): Uint8Array } }, message: T, caseRef: string) =>
    publishEvent(nats, { producer: hubId, audience: agencyId, codec, message, caseRef });

  /** A referral routed here for a case of its own; waits until it is in the inbox. */
  async function routed(options: { ownerAgencyId?: string } = {}) {
    const referralId = uuidv7();
    const caseRef = `C-${referralId.slice(-12).toUpperCase()}`;
    const consentId = uuidv7();
    const referrerAgencyId = randomId('referrer');
    await fromHub(
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
  async function outbox<T>(codec: { decode(b: Uint8Array): T }, filter: (m: T) => boolean = () => true) {
    const rows: { event_id: string; case_ref: string; payload: Buffer }[] = await db()
      .selectFrom('outbox')
      .select(['event_id', 'case_ref', 'payload'])
      .where('event_type', '=', eventTypeOf(codec))
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ eventId: r.event_id, caseRef: r.case_ref, message: codec.decode(envelope.Envelope.decode(r.payload).payload) })).filter((e) => filter(e.message));
  }

  /** Events of a type the relay published to the agency's stream, decoded. */
  async function published<T>(codec: { decode(b: Uint8Array): T }, filter: (m: T) => boolean) {
    const eventType = eventTypeOf(codec);
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

  // --- tests -------------------------------------------------------------------------------------

  describe(`${name}: the shared referral workflow (real PostgreSQL and NATS JetStream)`, () => {
    it('declines a pending referral with a coded reason once; an unknown reason names the field and writes nothing', async () => {
      const { referralId, caseRef } = await routed();
      const before = await snapshot();
      const unknown = await expectInvalid(client.declineReferral({ requestId: 'decline-unknown', referralId, reason: 99 as common.DeclineReason }), ['reason']);
      expect(unknown.details).toBe('reason: unknown value 99');
      await expectInvalid(client.declineReferral({ requestId: 'not an id', referralId: '', reason: DeclineReason.DECLINE_REASON_OTHER }), ['request_id', 'referral_id']);
      expect(await snapshot()).toEqual(before);

      const request = { requestId: `decline-${referralId}`, referralId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY };
      const first = await client.declineReferral(request);
      expect(first.referral).toMatchObject({ referralId, caseRef, status: statuses.declined, declineReason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
      expect(first.referral!.decidedAt).toBeInstanceOf(Date);
      expect(await inboxRow(referralId)).toMatchObject({ status: statuses.declined, decline_reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, decided_at: expect.any(Date) });
      const declined = await outbox(events.ReferralDeclined, (m) => m.referralId === referralId);
      expect(declined.map((e) => e.message)).toEqual([{ referralId, caseRef, providerId: agencyId, reason: DeclineReason.DECLINE_REASON_NO_CAPACITY, declinedAt: expect.any(Date) }]);

      // Same id, same request: the first answer, nothing written twice. Same id, other request: refused.
      expect(await client.declineReferral(request)).toEqual(first);
      await expectInvalid(client.declineReferral({ ...request, reason: DeclineReason.DECLINE_REASON_OTHER }), ['request_id']);
      await expectCode(client.declineReferral({ ...request, requestId: 'decline-again' }), status.FAILED_PRECONDITION, /only a pending referral can be declined/);
      await expectCode(client.acceptReferral({ requestId: 'accept-declined', referralId }), status.FAILED_PRECONDITION, /only a pending referral can be accepted/);
      expect(await inboxRow(referralId)).toMatchObject({ status: statuses.declined, decline_reason: DeclineReason.DECLINE_REASON_NO_CAPACITY });
      expect(await outbox(events.ReferralDeclined, (m) => m.referralId === referralId)).toHaveLength(1);
      const relayed = await published(events.ReferralDeclined, (m) => m.referralId === referralId);
      expect(relayed.map((e) => e.eventId)).toEqual(declined.map((e) => e.eventId));
    });

    it('accepts once per request id; the same id for another referral is refused and leaves that one pending', async () => {
      const one = await routed();
      const other = await routed();
      const first = await client.acceptReferral({ requestId: `accept-once-${one.referralId}`, referralId: one.referralId });
      expect(first.referral).toMatchObject({ referralId: one.referralId, status: statuses.accepted });
      const error = await expectInvalid(client.acceptReferral({ requestId: `accept-once-${one.referralId}`, referralId: other.referralId }), ['request_id']);
      expect(error.details).toMatch(reused);
      expect(await inboxRow(other.referralId)).toMatchObject({ status: statuses.pending, decided_at: null });
      expect(await outbox(events.ReferralAccepted, (m) => m.referralId === other.referralId)).toEqual([]);
    });

    it('completes only with an outcome code: without one INVALID_ARGUMENT names outcome and nothing is written', async () => {
      const { referralId, caseRef } = await accepted();
      const pending = await routed();
      const before = await snapshot();
      const none = await expectInvalid(client.completeReferral({ requestId: `complete-${referralId}`, referralId, outcome: 0 }), ['outcome']);
      expect(none.details).toBe('outcome: must be set');
      await expectCode(
        client.completeReferral({ requestId: 'complete-pending', referralId: pending.referralId, outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }),
        status.FAILED_PRECONDITION,
        /only an accepted referral can be completed/,
      );
      await expectCode(client.completeReferral({ requestId: 'complete-unknown', referralId: 'no-such-referral', outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }), status.NOT_FOUND, /referral_id/);
      expect(await snapshot()).toEqual(before);

      // The refused call stored no answer under its id: the same id now completes.
      const request = { requestId: `complete-${referralId}`, referralId, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED };
      const first = await client.completeReferral(request);
      expect(first.referral).toMatchObject({ referralId, caseRef, status: statuses.completed, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED });
      expect(await inboxRow(referralId)).toMatchObject({ status: statuses.completed, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED });
      const completed = await outbox(events.ReferralCompleted, (m) => m.referralId === referralId);
      expect(completed.map((e) => e.message)).toEqual([
        { referralId, caseRef, providerId: agencyId, outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED, completedAt: expect.any(Date) },
      ]);

      expect(await client.completeReferral(request)).toEqual(first);
      await expectInvalid(client.completeReferral({ ...request, outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }), ['request_id']);
      await expectCode(client.completeReferral({ ...request, requestId: 'complete-again' }), status.FAILED_PRECONDITION, /only an accepted referral can be completed/);
      expect(await inboxRow(referralId)).toMatchObject({ outcome: ReferralOutcome.REFERRAL_OUTCOME_PARTLY_ACHIEVED });
      expect(await outbox(events.ReferralCompleted, (m) => m.referralId === referralId)).toHaveLength(1);
      await published(events.ReferralCompleted, (m) => m.referralId === referralId);
    });

    it('refers an accepted case on: bad input, no agreement and an undecided source write nothing; the hub gets references only, once', async () => {
      const source = await accepted();
      const pending = await routed();
      const before = await snapshot();
      await expectInvalid(client.requestReferral({ requestId: 'refer-bad', referralId: '', caseRef: '', purpose: 0, type: 0, recipientType: '' }), [
        'referral_id',
        'purpose',
        'type',
        'recipient_type',
      ]);
      const noAgreement = await expectInvalid(client.requestReferral({ ...referOnRequest('refer-no-agreement', source.referralId), recipientType: 'foreign-office' }), ['recipient_type']);
      expect(noAgreement.details).toMatch(new RegExp(`^recipient_type: no cooperation agreement lets ${target.agencyType} refer to foreign-office`));
      await expectCode(client.requestReferral(referOnRequest('refer-unknown', 'no-such-referral')), status.NOT_FOUND, /^referral_id: /);
      await expectCode(client.requestReferral({ ...referOnRequest('refer-unknown-case', ''), caseRef: 'C-NOBODY' }), status.NOT_FOUND, /^case_ref: /);
      await expectCode(client.requestReferral(referOnRequest('refer-pending', pending.referralId)), status.FAILED_PRECONDITION, /only an accepted case can be referred on/);
      expect(await snapshot()).toEqual(before);

      const request = referOnRequest(`refer-${source.referralId}`, source.referralId);
      const first = await client.requestReferral(request);
      const referralId = first.referral!.referralId;
      expect(first.referral).toMatchObject({
        caseRef: source.caseRef,
        sourceReferralId: source.referralId,
        purpose: target.referOn.purpose,
        type: ReferralType.REFERRAL_TYPE_REFERRAL,
        recipientType: target.referOn.recipientType,
        status: ReferralStatus.REFERRAL_STATUS_REQUESTED,
      });
      expect(await outgoingRow(referralId)).toMatchObject({ case_ref: source.caseRef, source_referral_id: source.referralId, consent_id: source.consentId, status: ReferralStatus.REFERRAL_STATUS_REQUESTED, provider_id: null });
      const requested = await outbox(events.ReferralRequested, (m) => m.referralId === referralId);
      expect(requested).toHaveLength(1);
      expect(requested[0]!.message).toMatchObject({
        referralId,
        caseRef: source.caseRef,
        referrerAgencyId: agencyId,
        purpose: target.referOn.purpose,
        consentId: source.consentId,
        type: ReferralType.REFERRAL_TYPE_REFERRAL,
        recipientType: target.referOn.recipientType,
        ownerAgencyId: ownerId,
        sourceReferralId: source.referralId,
        // Thin: the hub has the routing facts and recipients from the first referral already.
        municipality: '',
        ageGroup: 0,
        consentedRecipients: [],
      });

      const afterFirst = await snapshot();
      expect(await client.requestReferral(request)).toEqual(first);
      await expectInvalid(client.requestReferral({ ...request, type: ReferralType.REFERRAL_TYPE_TRANSFER }), ['request_id']);
      expect(await snapshot()).toEqual(afterFirst);
      await published(events.ReferralRequested, (m) => m.referralId === referralId);

      // By case reference: from the case's newest referral.
      const byCase = await client.requestReferral({ ...referOnRequest('refer-by-case', ''), caseRef: source.caseRef });
      expect(byCase.referral).toMatchObject({ caseRef: source.caseRef, sourceReferralId: source.referralId });
      expect(byCase.referral!.referralId).not.toBe(referralId);
    });

    it(`names ${target.unnamedOwner === 'referrer' ? 'the referrer' : 'its configured data owner'} to the hub when the routing named no owner`, async () => {
      const source = await accepted({ ownerAgencyId: '' });
      const { referral } = await client.requestReferral(referOnRequest(`refer-unnamed-${source.referralId}`, source.referralId));
      const [requested] = await outbox(events.ReferralRequested, (m) => m.referralId === referral!.referralId);
      expect(requested!.message.ownerAgencyId).toBe(target.unnamedOwner === 'referrer' ? source.referrerAgencyId : ownerId);
    });

    it('follows where the hub reports its referral stands, only forward', async () => {
      const { source, referralId } = await referredOn();
      const report = (s: common.ReferralStatus, providerId: string) =>
        fromHub(events.ReferralStatusChanged, events.ReferralStatusChanged.fromPartial({ referralId, caseRef: source.caseRef, status: s, providerId, changedAt: new Date() }), source.caseRef);
      await report(ReferralStatus.REFERRAL_STATUS_PENDING, 'provider-1');
      await waitFor(async () => (await outgoingRow(referralId))?.status === ReferralStatus.REFERRAL_STATUS_PENDING, 'the referral pending');
      await report(ReferralStatus.REFERRAL_STATUS_ACCEPTED, 'provider-1');
      await report(ReferralStatus.REFERRAL_STATUS_PENDING, 'provider-2');
      await waitConsumed(nats, hubId, durable());
      expect(await outgoingRow(referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, provider_id: 'provider-1' });
    });

    it('withdraws its own open referral once; unknown or closed ones are refused and nothing reopens it', async () => {
      const { source, referralId } = await referredOn();
      const before = await snapshot();
      await expectInvalid(client.withdrawReferral({ requestId: '', referralId: '' }), ['request_id', 'referral_id']);
      await expectCode(client.withdrawReferral({ requestId: 'withdraw-unknown', referralId: 'no-such-referral' }), status.NOT_FOUND, /^referral_id: /);
      // A referral routed here is not this agency's to withdraw.
      await expectCode(client.withdrawReferral({ requestId: 'withdraw-received', referralId: source.referralId }), status.NOT_FOUND, /^referral_id: /);
      expect(await snapshot()).toEqual(before);

      const request = { requestId: `withdraw-${referralId}`, referralId };
      const first = await client.withdrawReferral(request);
      expect(first.referral).toMatchObject({ referralId, caseRef: source.caseRef, status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN });
      expect(await outgoingRow(referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN });
      const withdrawn = await outbox(events.ReferralWithdrawnByReferrer, (m) => m.referralId === referralId);
      expect(withdrawn.map((e) => e.message)).toEqual([{ referralId, caseRef: source.caseRef, referrerAgencyId: agencyId, withdrawnAt: expect.any(Date) }]);

      expect(await client.withdrawReferral(request)).toEqual(first);
      await expectInvalid(client.withdrawReferral({ ...request, referralId: source.referralId }), ['request_id']);
      await expectCode(client.withdrawReferral({ ...request, requestId: 'withdraw-again' }), status.FAILED_PRECONDITION, /is REFERRAL_STATUS_WITHDRAWN; it can no longer be withdrawn/);
      expect(await outbox(events.ReferralWithdrawnByReferrer, (m) => m.referralId === referralId)).toHaveLength(1);
      await published(events.ReferralWithdrawnByReferrer, (m) => m.referralId === referralId);

      // A late report from the hub does not reopen it.
      await fromHub(
        events.ReferralStatusChanged,
        events.ReferralStatusChanged.fromPartial({ referralId, caseRef: source.caseRef, status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, providerId: 'provider-1' }),
        source.caseRef,
      );
      await waitConsumed(nats, hubId, durable());
      expect(await outgoingRow(referralId)).toMatchObject({ status: ReferralStatus.REFERRAL_STATUS_WITHDRAWN, provider_id: null });
    });

    it('closes a routed referral its referrer withdrew, but not one already decided', async () => {
      const open = await routed();
      const decided = await routed();
      await client.declineReferral({ requestId: `decline-${decided.referralId}`, referralId: decided.referralId, reason: DeclineReason.DECLINE_REASON_OTHER });
      const withdrawnAt = new Date('2026-01-15T10:00:00Z');
      for (const r of [open, decided]) {
        await fromHub(events.ReferralWithdrawn, { referralId: r.referralId, caseRef: r.caseRef, providerId: agencyId, consentId: '', withdrawnAt }, r.caseRef);
      }
      await waitConsumed(nats, hubId, durable());
      expect(await inboxRow(open.referralId)).toMatchObject({ status: statuses.withdrawn, decided_at: withdrawnAt });
      expect(await inboxRow(decided.referralId)).toMatchObject({ status: statuses.declined, decline_reason: DeclineReason.DECLINE_REASON_OTHER });
      await expectCode(client.acceptReferral({ requestId: `accept-${open.referralId}`, referralId: open.referralId }), status.FAILED_PRECONDITION, /only a pending referral/);
    });

    it('publishes its free capacity once per request id; bad values are INVALID_ARGUMENT naming the field, nothing published', async () => {
      const { field, kind } = target.capacity;
      const isCapacity = (m: events.CapacityChanged) => m.providerId === agencyId;
      const before = await snapshot();
      const tooMany = await expectInvalid(client.setCapacity({ requestId: 'capacity-too-many', [field]: 10_001 }), [snake(field)]);
      expect(tooMany.details).toBe(`${snake(field)}: must be at most 10000`);
      await expectInvalid(client.setCapacity({ requestId: 'no good', [field]: 5 }), ['request_id']);
      expect(await snapshot()).toEqual(before);

      const first = await client.setCapacity({ requestId: 'capacity-1', [field]: 7 });
      expect(first).toEqual({ [field]: 7 });
      expect(await client.setCapacity({ requestId: 'capacity-1', [field]: 7 })).toEqual(first);
      await expectInvalid(client.setCapacity({ requestId: 'capacity-1', [field]: 8 }), ['request_id']);
      // None free is a value too: the hub then routes elsewhere.
      expect(await client.setCapacity({ requestId: 'capacity-0', [field]: 0 })).toEqual({ [field]: 0 });

      const changed = await outbox(events.CapacityChanged, isCapacity);
      expect(changed.map((e) => e.message)).toEqual([
        { providerId: agencyId, kind, free: 7, changedAt: expect.any(Date) },
        { providerId: agencyId, kind, free: 0, changedAt: expect.any(Date) },
      ]);
      // No case: the event carries no case reference.
      expect(changed.map((e) => e.caseRef)).toEqual(['', '']);
      const relayed = await waitFor(async () => {
        const found = await published(events.CapacityChanged, isCapacity);
        return found.length === 2 ? found : undefined;
      }, 'both capacity events relayed');
      expect(relayed.map((e) => e.message.free)).toEqual([7, 0]);
    });

    it("refuses the workflow calls made with another agency's certificate, writing nothing", async () => {
      const { referralId } = await routed();
      const before = await snapshot();
      const calls = [
        outsider.acceptReferral({ requestId: 'x-accept', referralId }),
        outsider.declineReferral({ requestId: 'x-decline', referralId, reason: DeclineReason.DECLINE_REASON_OTHER }),
        outsider.completeReferral({ requestId: 'x-complete', referralId, outcome: ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED }),
        outsider.requestReferral(referOnRequest('x-refer', referralId)),
        outsider.withdrawReferral({ requestId: 'x-withdraw', referralId }),
        outsider.setCapacity({ requestId: 'x-capacity', [target.capacity.field]: 3 }),
      ];
      for (const call of calls) await expectCode(call, status.PERMISSION_DENIED, /authorisation matrix lets only .+ itself call/);
      expect(await snapshot()).toEqual(before);
    });
  });
}
