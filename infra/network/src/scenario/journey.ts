// One newcomer's journey through the network, as the caseworkers of each agency would drive it:
// registration and consent at the foreign office, a referral, the decision at whichever provider
// the hub routed to, and — when the network has it — the referral on to the job centre.
import { common, jobCentre as jc, lotsenhaus as hub, migrationServices as ms } from '@lotse/contracts';
import { status } from '@grpc/grpc-js';
import type { PromiseClient } from '@lotse/grpc';
import type { HubWatcher } from './hub-watcher.js';
import { codeOf, NotThereYet, retrying, type ScenarioNetwork } from './network.js';
import { journeyRandom, newPerson, type Person, type Random } from './people.js';

const { ReferralStatus: S, Purpose, DataCategory, DeclineReason, ContactChannel } = common;

export type Kind = 'accept' | 'decline' | 'revoke' | 'expire';

export interface Mix {
  decline: number;
  revoke: number;
  expire: number;
  /** Share of accepted adults referred on to the job centre (when the network has one). */
  jobcentre: number;
}

export interface Plan {
  index: number;
  person: Person;
  kind: Kind;
  declineReason: common.DeclineReason;
  /** A revoke before (pending) or after the provider accepted. */
  revokeAfterAccept: boolean;
  referOn: boolean;
  channel: common.ContactChannel;
  rng: Random;
}

/** Every journey's plan follows from the seed and its index alone. */
export function planJourney(seed: number, index: number, mix: Mix, municipalities: readonly string[], today: Date): Plan {
  const rng = journeyRandom(seed, index);
  const person = newPerson(rng, municipalities, today);
  const roll = rng.next();
  const kind: Kind = roll < mix.decline ? 'decline' : roll < mix.decline + mix.revoke ? 'revoke' : roll < mix.decline + mix.revoke + mix.expire ? 'expire' : 'accept';
  return {
    index,
    person,
    kind,
    declineReason: rng.pick([DeclineReason.DECLINE_REASON_NO_CAPACITY, DeclineReason.DECLINE_REASON_NEWCOMER_UNREACHABLE, DeclineReason.DECLINE_REASON_OTHER]),
    revokeAfterAccept: rng.chance(0.5),
    referOn: person.age >= 18 && rng.chance(mix.jobcentre),
    channel: rng.pick([ContactChannel.CONTACT_CHANNEL_IN_PERSON, ContactChannel.CONTACT_CHANNEL_IN_PERSON, ContactChannel.CONTACT_CHANNEL_PHONE, ContactChannel.CONTACT_CHANNEL_VIDEO]),
    rng,
  };
}

/** What the hub must show for the journey at the end. */
export interface Expectation {
  outcome: string;
  /** The case summary's final status is one of these … */
  statuses: common.ReferralStatus[];
  /** … or, for an unanswered referral, escalation counts too. */
  escalatedCounts?: boolean;
  /** Event types that must appear on the timeline, in this order (others may come between). */
  events: string[];
}

export interface JourneyRecord {
  plan: Plan;
  state: 'planned' | 'running' | 'done' | 'failed';
  atHub: boolean;
  newcomerId?: string;
  caseRef?: string;
  referralId?: string;
  providers: string[];
  hubLatencyMs?: number;
  /** From each caseworker decision's answer (accept, decline, placement) to its step on the hub's timeline. */
  decisionLatenciesMs: number[];
  expectation?: Expectation;
  /** Steps left out because the running network lacks the RPC. */
  skipped: string[];
  error?: string;
}

export interface JourneyHooks {
  onAtHub(record: JourneyRecord): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const day = (d: Date, plus = 0) => new Date(d.getTime() + plus * 86_400_000).toISOString().slice(0, 10);

type Timeline = hub.GetCaseTimelineResponse;
type MsClient = PromiseClient<ms.MigrationServicesServiceClient>;

export class JourneyRunner {
  constructor(
    private readonly net: ScenarioNetwork,
    private readonly runId: string,
    private readonly today: Date,
    private readonly hooks: JourneyHooks,
    private readonly watcher: HubWatcher,
    private readonly stepTimeoutMs = 120_000,
  ) {}

  private readonly observing = new Map<JourneyRecord, Promise<void>[]>();

  /**
   * A caseworker's decision, answered by their agency at `answeredAt`: measures, without holding
   * the journey up, when its step shows on the hub's timeline (the hub's own recording time).
   */
  private observeDecision(record: JourneyRecord, caseRef: string, referralId: string, eventType: string, answeredAt: number) {
    const step = (t: Timeline) => t.entries.find((e) => e.eventType === eventType && e.referralId === referralId);
    const seen = this.watcher
      .untilTimeline(caseRef, `${eventType} at the hub`, (t) => step(t) !== undefined, 30_000)
      .then((t) => {
        record.decisionLatenciesMs.push(Math.max(0, step(t)!.recordedAt!.getTime() - answeredAt));
      })
      // Not seen in time: the journey's own checks report what is missing; no figure for it here.
      .catch(() => undefined);
    this.observing.set(record, [...(this.observing.get(record) ?? []), seen]);
  }

  /** Sends a caseworker's decision and measures when it reaches the hub. */
  private async decide<T>(record: JourneyRecord, caseRef: string, referralId: string, eventType: string, rpc: string, call: () => Promise<T>): Promise<T> {
    const answer = await this.inbox(rpc, call);
    this.observeDecision(record, caseRef, referralId, eventType, Date.now());
    return answer;
  }

  private id(record: JourneyRecord, step: string) {
    return `${this.runId}-${record.plan.index}-${step}`;
  }

  async timeline(caseRef: string): Promise<Timeline | undefined> {
    try {
      return await retrying(() => this.net.hub.getCaseTimeline({ caseRef }), 'GetCaseTimeline');
    } catch (error) {
      if (codeOf(error) === status.NOT_FOUND) return undefined;
      throw error;
    }
  }

  /** Waits, through the shared watcher of the hub's case index, for the case to reach a state. */
  private until(caseRef: string, what: string, pick: (s: hub.CaseSummary) => boolean, timeoutMs = this.stepTimeoutMs) {
    return this.watcher.until(caseRef, what, pick, timeoutMs);
  }

  /** Runs the journey; never throws (a failure is recorded on the record). */
  async run(record: JourneyRecord, mix: { jobCentre: boolean }): Promise<void> {
    record.state = 'running';
    try {
      await this.drive(record, mix.jobCentre);
      await Promise.all(this.observing.get(record) ?? []);
      this.observing.delete(record);
      record.state = 'done';
    } catch (error) {
      record.state = 'failed';
      record.error = error instanceof Error ? error.message : String(error);
    }
  }

  private async drive(record: JourneyRecord, jobCentre: boolean) {
    const { plan } = record;
    const { person } = plan;
    const f = this.net.foreignOffice;

    // Foreign office: register, consent, referral.
    const { newcomer } = await retrying(
      () =>
        f.registerNewcomer({
          requestId: this.id(record, 'register'),
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
          requestId: this.id(record, 'consent'),
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
          requestId: this.id(record, 'referral'),
          newcomerId: newcomer!.newcomerId,
          purpose: Purpose.PURPOSE_MIGRATION_COUNSELLING,
          consentId: consent!.consentId,
          preferredProviderId: '',
        }),
      'RequestReferral',
    );
    record.referralId = referral!.referralId;
    const caseRef = newcomer!.caseRef;
    const referralId = referral!.referralId;

    // The hub records the request and routes it.
    const atHub = await this.watcher.untilTimeline(caseRef, 'the referral at the hub', (t) => t.caseSummary!.referralId === referralId, this.stepTimeoutMs);
    const requested = atHub.entries.find((e) => e.eventType === 'ReferralRequested' && e.referralId === referralId);
    if (!requested) throw new Error(`hub: case ${caseRef} is indexed but its timeline lacks the request`);
    record.atHub = true;
    record.hubLatencyMs = Math.max(0, requested.recordedAt!.getTime() - sentAt);
    this.hooks.onAtHub(record);

    const base = ['ReferralRequested'];
    const routed = await this.routedTo(caseRef, referralId);
    if (!routed) {
      record.expectation = { outcome: 'unroutable', statuses: [S.REFERRAL_STATUS_UNROUTABLE], events: [...base, 'ReferralUnroutable'] };
      return;
    }
    record.providers.push(routed.provider);
    const provider = this.migrationService(routed.provider);
    const received = [...base, 'ReferralRouted', 'ReferralReceived'];

    switch (plan.kind) {
      case 'expire':
        // Nobody answers: the referral waits until the hub's deadline expires it and escalates.
        record.expectation = { outcome: 'unanswered (pending or escalated)', statuses: [S.REFERRAL_STATUS_PENDING], escalatedCounts: true, events: received };
        return;

      case 'revoke': {
        const events = [...received];
        if (plan.revokeAfterAccept) {
          await this.received(record, referralId);
          await this.decide(record, caseRef, referralId, 'ReferralAccepted', 'AcceptReferral', () => provider.acceptReferral({ requestId: this.id(record, 'accept'), referralId }));
          await this.until(caseRef, 'the acceptance at the hub', (c) => c.referralId === referralId && c.status !== S.REFERRAL_STATUS_PENDING);
          events.push('ReferralAccepted');
        }
        await retrying(
          () => f.withdrawConsent({ requestId: this.id(record, 'withdraw'), consentId: consent!.consentId, newcomerId: '', reason: 'Die Person widerruft ihre Einwilligung (Szenario).' }),
          'WithdrawConsent',
        );
        // Withdrawn while pending, the withdrawal may reach the hub before the provider's receipt.
        if (!plan.revokeAfterAccept) events.splice(events.indexOf('ReferralReceived'), 1);
        record.expectation = { outcome: 'consent withdrawn', statuses: [S.REFERRAL_STATUS_WITHDRAWN], events: [...events, 'ConsentWithdrawn'] };
        return;
      }

      case 'decline': {
        await this.received(record, referralId);
        await this.decide(record, caseRef, referralId, 'ReferralDeclined', 'DeclineReferral', () => provider.declineReferral({ requestId: this.id(record, 'decline'), referralId, reason: plan.declineReason }));
        const events = [...received, 'ReferralDeclined'];
        // Where the hub takes it: re-routed to the next provider, unroutable, or closed as declined.
        const next = await this.afterDecline(caseRef, routed.provider);
        if (next === undefined) {
          record.expectation = { outcome: 'declined (not re-routed)', statuses: [S.REFERRAL_STATUS_DECLINED], events };
          return;
        }
        if (next === null) {
          record.expectation = { outcome: 'declined → unroutable', statuses: [S.REFERRAL_STATUS_UNROUTABLE], events: [...events, 'ReferralUnroutable'] };
          return;
        }
        record.providers.push(next.provider);
        await this.counsel(record, this.migrationService(next.provider), next.referralId, 'rerouted');
        record.expectation = {
          outcome: 'declined → re-routed → counselling started',
          statuses: [S.REFERRAL_STATUS_COUNSELLING_STARTED],
          events: [...events, 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', 'NewcomerDataReceived', 'FirstContactRecorded'],
        };
        return;
      }

      case 'accept': {
        await this.counsel(record, provider, referralId, 'first');
        const counselled = [...received, 'ReferralAccepted', 'NewcomerDataReceived', 'FirstContactRecorded'];
        record.expectation = { outcome: 'counselling started', statuses: [S.REFERRAL_STATUS_COUNSELLING_STARTED], events: counselled };
        if (!plan.referOn || !jobCentre) return;
        await this.referOnToJobCentre(record, provider, referralId, counselled);
        return;
      }
    }
  }

  private migrationService(id: string) {
    const client = this.net.migrationServices.get(id);
    if (!client) throw new Error(`the hub routed to ${id}, which is no migration service of this network`);
    return client;
  }

  /** The provider the hub routed the referral to, or null when it found none (unroutable). */
  private async routedTo(caseRef: string, referralId: string): Promise<{ provider: string; referralId: string } | null> {
    const s = await this.until(caseRef, 'the routing decision', (c) => c.referralId === referralId && c.status !== S.REFERRAL_STATUS_REQUESTED);
    if (s.status === S.REFERRAL_STATUS_UNROUTABLE) return null;
    if (s.status !== S.REFERRAL_STATUS_PENDING) throw new Error(`hub: referral ${referralId} is ${common.referralStatusToJSON(s.status)} before any decision`);
    return { provider: s.currentAgencyId, referralId };
  }

  /**
   * After a decline: re-routed to another provider (pending there), unroutable (null), or left
   * declined (undefined) when the hub does not re-route within a moment.
   */
  private async afterDecline(caseRef: string, provider: string): Promise<{ provider: string; referralId: string } | null | undefined> {
    const moved = (c: hub.CaseSummary) => !(c.status === S.REFERRAL_STATUS_PENDING && c.currentAgencyId === provider);
    let s = await this.until(caseRef, 'the decline at the hub', moved);
    if (s.status === S.REFERRAL_STATUS_DECLINED) {
      s = await this.until(caseRef, 'a re-route', (c) => c.status !== S.REFERRAL_STATUS_DECLINED, 1500).catch(() => s);
    }
    if (s.status === S.REFERRAL_STATUS_UNROUTABLE) return null;
    if (s.status === S.REFERRAL_STATUS_PENDING) return { provider: s.currentAgencyId, referralId: s.referralId };
    return undefined;
  }

  /** The first call at a recipient: its inbox may not hold the routed referral yet (NOT_FOUND). */
  private async inbox<T>(rpc: string, call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.stepTimeoutMs;
    let pause = 100;
    for (;;) {
      try {
        return await retrying(call, rpc);
      } catch (error) {
        if (codeOf(error) !== status.NOT_FOUND || Date.now() > deadline) throw error;
        await sleep(pause);
        pause = Math.min(pause * 2, 2000);
      }
    }
  }

  /**
   * The caseworker opens the referral once it is in their inbox: the hub's timeline shows the
   * provider's receipt. (Calling AcceptReferral until it stops answering NOT_FOUND costs the
   * provider a failed transaction per try, and under load those tries were most of its work.)
   */
  private async received(record: JourneyRecord, referralId: string): Promise<void> {
    await this.watcher.untilTimeline(
      record.caseRef!,
      `the receipt of referral ${referralId}`,
      (t) => t.entries.some((e) => e.eventType === 'ReferralReceived' && e.referralId === referralId),
      this.stepTimeoutMs,
    );
  }

  /** Accept, fetch the consented data, record the first contact. */
  private async counsel(record: JourneyRecord, provider: MsClient, referralId: string, step: string) {
    await this.received(record, referralId);
    await this.decide(record, record.caseRef!, referralId, 'ReferralAccepted', 'AcceptReferral', () => provider.acceptReferral({ requestId: this.id(record, `${step}-accept`), referralId }));
    await retrying(() => provider.fetchNewcomerData({ requestId: this.id(record, `${step}-fetch`), referralId }), 'FetchNewcomerData');
    await retrying(
      () =>
        provider.recordFirstContact({
          requestId: this.id(record, `${step}-contact`),
          referralId,
          contactDate: day(this.today),
          channel: record.plan.channel,
          interpreterUsed: record.plan.person.interpreterUsed,
        }),
      'RecordFirstContact',
    );
  }

  /** Migration services → job centre: registration, funding, plan, placement, close. */
  private async referOnToJobCentre(record: JourneyRecord, provider: MsClient, inboxReferralId: string, counselled: string[]) {
    const { plan } = record;
    const caseRef = record.caseRef!;
    let outgoing: ms.RequestReferralResponse;
    try {
      outgoing = await retrying(
        () =>
          provider.requestReferral(
            ms.RequestReferralRequest.fromPartial({
              requestId: this.id(record, 'refer-on'),
              referralId: inboxReferralId,
              purpose: Purpose.PURPOSE_LABOUR_MARKET_INTEGRATION,
              type: common.ReferralType.REFERRAL_TYPE_REFERRAL,
              recipientType: 'job-centre',
            }),
          ),
        'MigrationServices/RequestReferral',
      );
    } catch (error) {
      if (error instanceof NotThereYet) {
        record.skipped.push(error.rpc);
        return;
      }
      throw error;
    }
    const jcReferralId = outgoing.referral!.referralId;
    const routed = await this.routedTo(caseRef, jcReferralId);
    const requested = [...counselled, 'ReferralRequested'];
    if (!routed) {
      record.expectation = { outcome: 'referred on → no job centre found', statuses: [S.REFERRAL_STATUS_UNROUTABLE], events: [...requested, 'ReferralUnroutable'] };
      return;
    }
    record.providers.push(routed.provider);
    const centre = this.net.jobCentres.get(routed.provider);
    if (!centre) throw new Error(`the hub routed the job-centre referral to ${routed.provider}, which is no job centre of this network`);
    const rng = plan.rng;
    const step = async <T>(rpc: string, call: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await retrying(call, `JobCentre/${rpc}`);
      } catch (error) {
        if (error instanceof NotThereYet) {
          record.skipped.push(error.rpc);
          return undefined;
        }
        throw error;
      }
    };
    await this.received(record, jcReferralId);
    await this.decide(record, record.caseRef!, jcReferralId, 'ReferralAccepted', 'JobCentre/AcceptReferral', () => centre.acceptReferral({ requestId: this.id(record, 'jc-accept'), referralId: jcReferralId }));
    await step('FetchNewcomerData', () => centre.fetchNewcomerData({ requestId: this.id(record, 'jc-fetch'), referralId: jcReferralId }));
    const benefitsStart = day(this.today, -rng.int(7, 90));
    // The job centre's steps the hub shows on the timeline, for those that ran.
    const shown: string[] = [];
    const registered = await retrying(
      () =>
        centre.registerCustomer({
          requestId: this.id(record, 'jc-register'),
          referralId: jcReferralId,
          customerNumber: `${rng.int(100, 999)}A${String(rng.int(0, 999_999)).padStart(6, '0')}`,
          bgNumber: rng.chance(0.5) ? `${rng.int(10_000, 99_999)}BG${String(rng.int(0, 9_999_999)).padStart(7, '0')}` : '',
          benefitsStart,
        }),
      'JobCentre/RegisterCustomer',
    );
    const customerId = registered.customer!.customerId;
    shown.push('CustomerRegistered');
    const L = jc.CefrLevel;
    const assessed = rng.pick([L.CEFR_LEVEL_A1, L.CEFR_LEVEL_A2, L.CEFR_LEVEL_A2, L.CEFR_LEVEL_B1, L.CEFR_LEVEL_B1, L.CEFR_LEVEL_B2]);
    const approved = assessed !== L.CEFR_LEVEL_A1;
    if (await step('DecideLanguageCourseFunding', () =>
      centre.decideLanguageCourseFunding({
        requestId: this.id(record, 'jc-funding'),
        customerId,
        assessedLevel: assessed,
        targetLevel: approved ? ((assessed + 1) as jc.CefrLevel) : L.CEFR_LEVEL_B1,
        decision: approved ? jc.FundingDecision.FUNDING_DECISION_APPROVED : jc.FundingDecision.FUNDING_DECISION_REFUSED,
        refusalReason: approved ? jc.FundingRefusalReason.FUNDING_REFUSAL_REASON_UNSPECIFIED : jc.FundingRefusalReason.FUNDING_REFUSAL_REASON_INTEGRATION_COURSE_FIRST,
        courseStart: approved ? day(this.today, rng.int(14, 60)) : '',
      }),
    )) shown.push('LanguageCourseFundingDecided');
    if (await step('AgreeCooperationPlan', () =>
      centre.agreeCooperationPlan({
        requestId: this.id(record, 'jc-plan'),
        customerId,
        planDate: day(this.today),
        goals: [approved ? 'Berufssprachkurs abschließen' : 'Integrationskurs abschließen', 'Aufnahme einer sozialversicherungspflichtigen Beschäftigung'],
        steps: [
          { description: 'Anmeldung zum Sprachkurs', dueDate: day(this.today, 14), responsible: jc.StepResponsible.STEP_RESPONSIBLE_CUSTOMER, partnerAgencyId: '' },
          { description: 'Vermittlungsvorschläge übersenden', dueDate: day(this.today, 30), responsible: jc.StepResponsible.STEP_RESPONSIBLE_JOB_CENTRE, partnerAgencyId: '' },
        ],
      }),
    )) shown.push('CooperationPlanAgreed');
    const P = jc.PlacementType;
    const placement = rng.pick([P.PLACEMENT_TYPE_JOB, P.PLACEMENT_TYPE_JOB, P.PLACEMENT_TYPE_APPRENTICESHIP, P.PLACEMENT_TYPE_ACTIVATION_MEASURE]);
    if (await step('RecordPlacement', () =>
      centre.recordPlacement({
        requestId: this.id(record, 'jc-placement'),
        customerId,
        type: placement,
        reference: placement === P.PLACEMENT_TYPE_ACTIVATION_MEASURE ? `962/${rng.int(1000, 9999)}/26` : `BNR-${rng.int(10_000_000, 99_999_999)}`,
        startDate: day(this.today, rng.int(7, 45)),
        endDate: '',
      }),
    )) shown.push('PlacementRecorded');
    const C = jc.CaseOutcome;
    const outcome = placement === P.PLACEMENT_TYPE_JOB ? C.CASE_OUTCOME_EMPLOYED : placement === P.PLACEMENT_TYPE_APPRENTICESHIP ? C.CASE_OUTCOME_VOCATIONAL_TRAINING : C.CASE_OUTCOME_OTHER;
    if (await step('CloseCase', () => centre.closeCase({ requestId: this.id(record, 'jc-close'), customerId, outcome, closedOn: day(this.today) }))) shown.push('JobCentreCaseClosed');
    const completed = await step('CompleteReferral', () =>
      centre.completeReferral(jc.CompleteReferralRequest.fromPartial({ requestId: this.id(record, 'jc-complete'), referralId: jcReferralId, outcome: common.ReferralOutcome.REFERRAL_OUTCOME_ACHIEVED })),
    );
    if (completed) this.observeDecision(record, record.caseRef!, jcReferralId, 'ReferralCompleted', Date.now());
    const events = [...requested, 'ReferralRouted', 'ReferralReceived', 'ReferralAccepted', ...shown];
    record.expectation = completed
      ? { outcome: 'placed by the job centre (completed)', statuses: [S.REFERRAL_STATUS_COMPLETED], events: [...events, 'ReferralCompleted'] }
      : { outcome: 'placed by the job centre (accepted)', statuses: [S.REFERRAL_STATUS_ACCEPTED], events };
  }
}

/** Whether the hub's view of the case shows the journey as expected. */
export function accountFor(record: JourneyRecord, t: Timeline | undefined): { ok: boolean; why?: string } {
  const exp = record.expectation;
  if (!exp) return { ok: false, why: record.error ?? 'journey did not finish' };
  if (!t) return { ok: false, why: 'case not found at the hub' };
  const summary = t.caseSummary!;
  // A journey whose client gave up mid-way (its retry budget spent) is not accounted for; say why,
  // rather than compare the hub with the expectation of its last finished step.
  if (record.state === 'failed') return { ok: false, why: `the scenario gave up on it (${record.error}); the hub has it ${common.referralStatusToJSON(summary.status)}` };
  const statusOk = exp.statuses.includes(summary.status) || (exp.escalatedCounts === true && Boolean((summary as { escalated?: boolean }).escalated));
  let at = 0;
  for (const e of t.entries) if (at < exp.events.length && e.eventType === exp.events[at]) at++;
  if (!statusOk) return { ok: false, why: `hub status ${common.referralStatusToJSON(summary.status)}, expected ${exp.statuses.map((s) => common.referralStatusToJSON(s)).join(' or ')}` };
  if (at < exp.events.length) return { ok: false, why: `timeline lacks ${exp.events.slice(at).join(', ')} (has ${t.entries.map((e) => e.eventType).join(', ')})` };
  return { ok: true };
}
