// One newcomer's journey through the network, as the caseworkers of each agency would drive it:
// registration and consent at the foreign office, a referral, the decision at whichever provider
// the hub routed to, and — when the network has it — the referral on to the job centre.
import { common } from '@lotse/contracts';
import type { HubWatcher } from './hub-watcher.js';
import { referOnToJobCentre } from './job-centre-journey.js';
import type { JourneyHooks, JourneyRecord } from './journey-record.js';
import { day, JourneySteps, type MsClient, type Timeline } from './journey-steps.js';
import { retrying, type ScenarioNetwork } from './network.js';

const { ReferralStatus: S, Purpose, DataCategory } = common;

/** What the foreign office's caseworker has sent on its way. */
interface Sent {
  caseRef: string;
  referralId: string;
  consentId: string;
  /** When the referral request was sent: the start of the hub latency. */
  sentAt: number;
}

export class JourneyRunner {
  private readonly steps: JourneySteps;

  constructor(
    private readonly net: ScenarioNetwork,
    runId: string,
    today: Date,
    private readonly hooks: JourneyHooks,
    watcher: HubWatcher,
    stepTimeoutMs = 120_000,
  ) {
    this.steps = new JourneySteps(net, runId, today, watcher, stepTimeoutMs);
  }

  timeline(caseRef: string): Promise<Timeline | undefined> {
    return this.steps.timeline(caseRef);
  }

  /** Runs the journey; never throws (a failure is recorded on the record). */
  async run(record: JourneyRecord, mix: { jobCentre: boolean }): Promise<void> {
    record.state = 'running';
    try {
      await this.drive(record, mix.jobCentre);
      await this.steps.measured(record);
      record.state = 'done';
    } catch (error) {
      record.state = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
    }
  }

  private async drive(record: JourneyRecord, jobCentre: boolean) {
    const { plan } = record;
    const sent = await this.atForeignOffice(record, jobCentre);
    await this.arrivedAtHub(record, sent);
    const { caseRef, referralId } = sent;

    const base = ['ReferralRequested'];
    const routed = await this.steps.routedTo(caseRef, referralId);
    if (!routed) {
      record.expectation = { outcome: 'unroutable', statuses: [S.REFERRAL_STATUS_UNROUTABLE], events: [...base, 'ReferralUnroutable'] };
      return;
    }
    record.providers.push(routed.provider);
    const provider = this.steps.migrationService(routed.provider);
    const received = [...base, 'ReferralRouted', 'ReferralReceived'];

    switch (plan.kind) {
      case 'expire':
        // Nobody answers: the referral waits until the hub's deadline expires it and escalates.
        record.expectation = { outcome: 'unanswered (pending or escalated)', statuses: [S.REFERRAL_STATUS_PENDING], escalatedCounts: true, events: received };
        return;

      case 'revoke':
        return this.revoke(record, sent, provider, received);

      case 'decline':
        return this.decline(record, sent, provider, routed.provider, received);

      case 'accept': {
        await this.counsel(record, provider, referralId, 'first');
        const counselled = [...received, 'ReferralAccepted', 'NewcomerDataReceived', 'FirstContactRecorded'];
        record.expectation = { outcome: 'counselling started', statuses: [S.REFERRAL_STATUS_COUNSELLING_STARTED], events: counselled };
        if (!plan.referOn || !jobCentre) return;
        await referOnToJobCentre(this.steps, record, provider, referralId, counselled);
        return;
      }
    }
  }

  /** Foreign office: register, consent, referral. */
  private async atForeignOffice(record: JourneyRecord, jobCentre: boolean): Promise<Sent> {
    const { person } = record.plan;
    const f = this.net.foreignOffice;
    const { newcomer } = await retrying(
      () =>
        f.registerNewcomer({
          requestId: this.steps.id(record, 'register'),
          givenNames: person.givenNames,
          familyName: person.familyName,
          birthDate: person.birthDate,
          nationality: person.nationality,
          languages: person.languages,
          municipality: person.municipality,
          residenceStatus: person.residenceStatus,
        }),
      'RegisterNewcomer',
    );
    record.newcomerId = newcomer!.newcomerId;
    record.caseRef = newcomer!.caseRef;
    const { consent } = await retrying(
      () =>
        f.recordConsent({
          requestId: this.steps.id(record, 'consent'),
          newcomerId: newcomer!.newcomerId,
          recipients: jobCentre ? ['migration-services', 'job-centre'] : ['migration-services'],
          purposes: jobCentre ? [Purpose.PURPOSE_MIGRATION_COUNSELLING, Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION] : [Purpose.PURPOSE_MIGRATION_COUNSELLING],
          dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_NATIONALITY, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS],
          expiresAt: undefined,
          textVersion: 'mbe-einwilligung-2026-01',
          language: person.consentLanguage,
          interpreterUsed: person.interpreterUsed,
        }),
      'RecordConsent',
    );
    const sentAt = Date.now();
    const { referral } = await retrying(
      () =>
        f.requestReferral({
          requestId: this.steps.id(record, 'referral'),
          newcomerId: newcomer!.newcomerId,
          purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
          consentId: consent!.consentId,
          preferredProviderId: '',
        }),
      'RequestReferral',
    );
    record.referralId = referral!.referralId;
    return { caseRef: newcomer!.caseRef, referralId: referral!.referralId, consentId: consent!.consentId, sentAt };
  }

  /** The hub records the request (and goes on to route it): the journey's hub latency. */
  private async arrivedAtHub(record: JourneyRecord, { caseRef, referralId, sentAt }: Sent) {
    const atHub = await this.steps.untilTimeline(caseRef, 'the referral at the hub', (t) => t.caseSummary!.referralId === referralId);
    const requested = atHub.entries.find((e) => e.eventType === 'ReferralRequested' && e.referralId === referralId);
    if (!requested) throw new Error(`hub: case ${caseRef} is indexed but its timeline lacks the request`);
    record.atHub = true;
    record.hubLatencyMs = Math.max(0, requested.recordedAt!.getTime() - sentAt);
    this.hooks.onAtHub(record);
  }

  /** The newcomer withdraws their consent, before the provider decided or after it accepted. */
  private async revoke(record: JourneyRecord, { caseRef, referralId, consentId }: Sent, provider: MsClient, received: string[]) {
    const { plan } = record;
    const events = [...received];
    if (plan.revokeAfterAccept) {
      await this.steps.received(record, referralId);
      await this.steps.decide(record, caseRef, referralId, 'ReferralAccepted', 'AcceptReferral', () => provider.acceptReferral({ requestId: this.steps.id(record, 'accept'), referralId }));
      await this.steps.until(caseRef, 'the acceptance at the hub', (c) => c.referralId === referralId && c.status !== S.REFERRAL_STATUS_PENDING);
      events.push('ReferralAccepted');
    }
    await retrying(
      () => this.net.foreignOffice.withdrawConsent({ requestId: this.steps.id(record, 'withdraw'), consentId, newcomerId: '', reason: 'Die Person widerruft ihre Einwilligung (Szenario).' }),
      'WithdrawConsent',
    );
    // Withdrawn while pending, the withdrawal may reach the hub before the provider's receipt.
    if (!plan.revokeAfterAccept) events.splice(events.indexOf('ReferralReceived'), 1);
    record.expectation = { outcome: 'consent withdrawn', statuses: [S.REFERRAL_STATUS_WITHDRAWN], events: [...events, 'ConsentWithdrawn'] };
  }

  /** The provider declines; the hub re-routes (counselling there), finds none, or closes it declined. */
  private async decline(record: JourneyRecord, { caseRef, referralId }: Sent, provider: MsClient, providerId: string, received: string[]) {
    await this.steps.received(record, referralId);
    await this.steps.decide(record, caseRef, referralId, 'ReferralDeclined', 'DeclineReferral', () =>
      provider.declineReferral({ requestId: this.steps.id(record, 'decline'), referralId, reason: record.plan.declineReason }),
    );
    const events = [...received, 'ReferralDeclined'];
    // Where the hub takes it: re-routed to the next provider, unroutable, or closed as declined.
    const next = await this.steps.afterDecline(caseRef, providerId);
    if (next === undefined) {
      record.expectation = { outcome: 'declined (not re-routed)', statuses: [S.REFERRAL_STATUS_DECLINED], events };
      return;
    }
    if (next === null) {
      record.expectation = { outcome: 'declined → unroutable', statuses: [S.REFERRAL_STATUS_UNROUTABLE], events: [...events, 'ReferralUnroutable'] };
      return;
    }
    record.providers.push(next.provider);
    await this.counsel(record, this.steps.migrationService(next.provider), next.referralId, 'rerouted');
    record.expectation = {
      outcome: 'declined → re-routed → counselling started',
      statuses: [S.REFERRAL_STATUS_COUNSELLING_STARTED],
      events: [...events, 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'NewcomerDataReceived', 'FirstContactRecorded'],
    };
  }

  /** Accept, fetch the consented data, record the first contact. */
  private async counsel(record: JourneyRecord, provider: MsClient, referralId: string, step: string) {
    const { steps } = this;
    await steps.received(record, referralId);
    await steps.decide(record, record.caseRef!, referralId, 'ReferralAccepted', 'AcceptReferral', () => provider.acceptReferral({ requestId: steps.id(record, `${step}-accept`), referralId }));
    await retrying(() => provider.fetchNewcomerData({ requestId: steps.id(record, `${step}-fetch`), referralId }), 'FetchNewcomerData');
    await retrying(
      () =>
        provider.recordFirstContact({
          requestId: steps.id(record, `${step}-contact`),
          referralId,
          contactDate: day(steps.today),
          channel: record.plan.channel,
          interpreterUsed: record.plan.person.interpreterUsed,
        }),
      'RecordFirstContact',
    );
  }
}
