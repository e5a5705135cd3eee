// A job centre booted in-process next to the real foreign office (the owner of the newcomer's
// data; not a dependency of this package), on the real PostgreSQL and NATS, over gRPC with mTLS.
// The test plays the hub and the migration service that refers on. One start per test file:
// vitest runs the files in parallel, each with databases, agency ids and streams of its own.
import { status } from '@grpc/grpc-js';
import { common, eventTypeOf, events, foreignOffice, jobCentre as jc } from '@lotse/contracts';
import { create as createForeignOffice, type ForeignOfficeDb } from '@lotse/foreign-office';
import { berlinDate, fieldViolationsOf, type PromiseClient } from '@lotse/grpc';
import { createLogger } from '@lotse/logger';
import { durableNameFor, type NatsClients } from '@lotse/messaging';
import { subjectOf, type RunningAgency } from '@lotse/runtime';
import { announceReferralWith, grpcError, publishEvent, randomId, startTestNetwork, streamEvents, waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { expect } from 'vitest';
import { create, type JobCentreDb } from '../../src/index.js';

const { DataCategory, Purpose, AgeGroup } = common;

/** A newcomer registered at the foreign office, with a consent. */
export interface Newcomer {
  caseRef: string;
  consentId: string;
}

// Dates as the services judge them: the calendar in Germany (berlinDate), not UTC's.
export const day = (offset = 0) => berlinDate(new Date(Date.now() + offset * 86_400_000));
export const today = () => day(0);

export async function expectInvalid(call: Promise<unknown>, fields: string[]) {
  const error = await grpcError(call);
  expect(error.code, error.details).toBe(status.INVALID_ARGUMENT);
  expect(fieldViolationsOf(error).map((v) => v.field)).toEqual(fields);
  return error;
}

export type JobCentreUnderTest = Awaited<ReturnType<typeof startJobCentreFixture>>;

export async function startJobCentreFixture() {
  const hubId = randomId('hub');
  const foId = randomId('fo');
  const jobCentreId = randomId('jobcenter');
  // The migration service that refers on: only an id here, it holds no data the job centre needs.
  const mbeId = randomId('mbe');
  const logLevel = process.env.LOG_LEVEL ?? 'silent';

  const net = await startTestNetwork({
    name: 'job-centre',
    members: [
      { id: foId, agencyType: 'foreign-office' },
      { id: jobCentreId, agencyType: 'job-centre' },
    ],
    streams: [hubId],
  });
  try {
    const nats: NatsClients = net.nats;
    const fo = await net.agency({
      id: foId,
      database: 'lotse_fo_test',
      create: (config) => createForeignOffice({ ...config, logLevel: 'silent', hubAgencyId: hubId }, { logger: createLogger(foId, { level: logLevel }) }),
    });
    const foRunning: RunningAgency<ForeignOfficeDb> = fo.running;
    const jobCentre = await net.agency({
      id: jobCentreId,
      database: 'lotse_jc_test',
      create: (config) =>
        create(
          { ...config, logLevel: 'silent', hubAgencyId: hubId, peers: new Map([[foId, fo.address]]), dataOwnerId: foId },
          { logger: createLogger(jobCentreId, { level: logLevel }) },
        ),
    });
    const jcRunning: RunningAgency<JobCentreDb> = jobCentre.running;
    const foClient: PromiseClient<foreignOffice.ForeignOfficeServiceClient> = fo.client(foreignOffice.ForeignOfficeServiceClient);
    const client: PromiseClient<jc.JobCentreServiceClient> = jobCentre.client(jc.JobCentreServiceClient);

    async function registerWithConsent(requestId: string, names: { givenNames: string; familyName: string }, recipients: string[], purposes: common.Purpose[]): Promise<Newcomer> {
      const { newcomer } = await foClient.registerNewcomer({
        requestId,
        ...names,
        birthDate: '1988-09-03',
        nationality: 'UA',
        languages: ['uk', 'ru'],
        municipality: 'andernach',
        residenceStatus: foreignOffice.ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION,
      });
      const { consent } = await foClient.recordConsent(
        foreignOffice.RecordConsentRequest.fromPartial({
          requestId: `${requestId}-consent`,
          newcomerId: newcomer!.newcomerId,
          recipients,
          purposes,
          dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS],
          textVersion: 'mbe-einwilligung-2026-01',
          language: 'uk',
          interpreterUsed: false,
        }),
      );
      return { caseRef: newcomer!.caseRef, consentId: consent!.consentId };
    }

    /** Plays the hub: a ReferralRouted addressed to this job centre, referred on by a migration service. */
    async function route(newcomer: Newcomer, ids: { referralId?: string; eventId?: string; msgId?: string; purpose?: common.Purpose } = {}) {
      const referralId = ids.referralId ?? uuidv7();
      const eventId = await publishEvent(nats, {
        producer: hubId,
        audience: jobCentreId,
        codec: events.ReferralRouted,
        message: events.ReferralRouted.fromPartial({
          referralId,
          caseRef: newcomer.caseRef,
          referrerAgencyId: mbeId,
          providerId: jobCentreId,
          purpose: ids.purpose ?? Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
          consentId: newcomer.consentId,
          ageGroup: AgeGroup.AGE_GROUP_ADULT,
          routingReason: 'agreement',
          routedAt: new Date(),
        }),
        caseRef: newcomer.caseRef,
        eventId: ids.eventId,
        msgId: ids.msgId,
      });
      // The owner discloses only to the agency the hub says a referral is with; these tests play
      // the hub's part in telling it.
      await announceReferralWith(
        nats,
        { hubId, ownerId: foId, caseRef: newcomer.caseRef, providerId: jobCentreId, referralId, purpose: ids.purpose ?? Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION },
        foRunning.ctx.db,
      );
      return { referralId, eventId };
    }

    const intakeRow = (referralId: string) => jcRunning.ctx.db.selectFrom('received_referral').selectAll().where('referral_id', '=', referralId).executeTakeFirst();

    async function routeAndWait(newcomer: Newcomer, purpose?: common.Purpose) {
      const routed = await route(newcomer, { purpose });
      await waitFor(() => intakeRow(routed.referralId), `referral ${routed.referralId} in the intake`);
      return routed;
    }

    /** Events of one type in the job centre's stream, decoded, for one case. */
    async function streamed<T>(codec: { decode(b: Uint8Array): T }, caseRef: string) {
      const stored = await streamEvents(nats, jobCentreId);
      return stored
        .filter((e) => e.subject === subjectOf(jobCentreId, codec) && e.envelope.caseRef === caseRef)
        .map((e) => ({ envelope: e.envelope, message: codec.decode(e.envelope.payload), raw: Buffer.from(e.envelope.payload) }));
    }

    const covered = await registerWithConsent('reg-covered', { givenNames: 'Olena', familyName: 'Kovalenko' }, ['migration-services', 'job-centre'], [
      Purpose.PURPOSE_MIGRATION_COUNSELLING,
      Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
    ]);
    const notCovered = await registerWithConsent('reg-not-covered', { givenNames: 'Reza', familyName: 'Ahmadi' }, ['migration-services'], [Purpose.PURPOSE_MIGRATION_COUNSELLING]);

    return {
      hubId,
      foId,
      jobCentreId,
      mbeId,
      nats,
      foRunning,
      jcRunning,
      client,
      clientWithFoCert: jobCentre.client(jc.JobCentreServiceClient, foId),
      /** Consented to labour-market integration at a job centre … */
      covered,
      /** … and only to migration counselling. */
      notCovered,
      route,
      intakeRow,
      routeAndWait,
      streamed,
      async waitForStreamed<T>(codec: { decode(b: Uint8Array): T }, caseRef: string, filter: (m: T) => boolean = () => true) {
        return waitFor(async () => {
          const found = (await streamed(codec, caseRef)).filter((e) => filter(e.message));
          return found.length ? found : undefined;
        }, `${eventTypeOf(codec)} for ${caseRef} in the job centre's stream`);
      },
      /** A referral routed and accepted, registered as a customer (its data fetched first when asked). */
      async registeredCustomer(requestId: string, customerNumber: string, options: { newcomer?: Newcomer; fetch?: boolean; bgNumber?: string; benefitsStart?: string } = {}) {
        const { referralId } = await routeAndWait(options.newcomer ?? notCovered);
        await client.acceptReferral({ requestId: `${requestId}-accept`, referralId });
        if (options.fetch) await client.fetchNewcomerData({ requestId: `${requestId}-fetch`, referralId });
        const { customer } = await client.registerCustomer({ requestId, referralId, customerNumber, bgNumber: options.bgNumber ?? '', benefitsStart: options.benefitsStart ?? day(-10) });
        return customer!;
      },
      /** Everything the job centre has written about its cases: rows of every table and outbox events. */
      async snapshot() {
        const db = jcRunning.ctx.db;
        const count = async (table: keyof JobCentreDb | 'outbox') => Number((await db.selectFrom(table as any).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
        return {
          customers: await count('customer'),
          fundings: await count('language_course_funding'),
          plans: await count('cooperation_plan'),
          steps: await count('cooperation_plan_step'),
          placements: await count('placement'),
          outbox: await count('outbox'),
          customerRows: await db.selectFrom('customer').selectAll().orderBy('customer_id').execute(),
        };
      },
      async outboxCount(eventType: string) {
        const rows = await jcRunning.ctx.db.selectFrom('outbox' as any).select('event_id').where('event_type', '=', eventType).execute();
        return rows.length;
      },
      jcDurable: () => durableNameFor(jobCentreId, `lotse.${hubId}.*.${jobCentreId}`),
      stop: () => net.close(),
    };
  } catch (error) {
    // A set-up that failed halfway leaves nothing behind.
    await net.close().catch(() => undefined);
    throw error;
  }
}
