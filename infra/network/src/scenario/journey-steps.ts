// The steps every journey is made of, for the runner and the job centre's part alike: the
// caseworkers' calls (retried while a recipient's inbox does not hold the referral yet), the waits
// for the hub to show a step, and the measuring of each decision's way to the hub.
import { common, type lotsenhaus as hub, type migrationServices as ms } from '@lotse/contracts';
import { status } from '@grpc/grpc-js';
import type { PromiseClient } from '@lotse/grpc';
import type { HubWatcher } from './hub-watcher.js';
import type { JourneyRecord } from './journey-record.js';
import { codeOf, retrying, type ScenarioNetwork } from './network.js';

const { ReferralStatus: S } = common;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The date `plus` days from `d`, as the RPCs take dates (YYYY-MM-DD). */
export const day = (d: Date, plus = 0) => new Date(d.getTime() + plus * 86_400_000).toISOString().slice(0, 10);

export type Timeline = hub.GetCaseTimelineResponse;
export type MsClient = PromiseClient<ms.MigrationServicesServiceClient>;
/** Where the hub routed a referral. */
export type Routed = { provider: string; referralId: string };

export class JourneySteps {
  constructor(
    readonly net: ScenarioNetwork,
    private readonly runId: string,
    readonly today: Date,
    private readonly watcher: HubWatcher,
    private readonly stepTimeoutMs: number,
  ) {}

  private readonly observing = new Map<JourneyRecord, Promise<void>[]>();

  /**
   * A caseworker's decision, answered by their agency at `answeredAt`: measures, without holding
   * the journey up, when its step shows on the hub's timeline (the hub's own recording time).
   */
  observeDecision(record: JourneyRecord, caseRef: string, referralId: string, eventType: string, answeredAt: number) {
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

  /** Waits until every decision of the journey is measured (or given up on). */
  async measured(record: JourneyRecord): Promise<void> {
    await Promise.all(this.observing.get(record) ?? []);
    this.observing.delete(record);
  }

  /** Sends a caseworker's decision and measures when it reaches the hub. */
  async decide<T>(record: JourneyRecord, caseRef: string, referralId: string, eventType: string, rpc: string, call: () => Promise<T>): Promise<T> {
    const answer = await this.inbox(rpc, call);
    this.observeDecision(record, caseRef, referralId, eventType, Date.now());
    return answer;
  }

  /** The request id of a journey's step: unique per run, the same on every retry. */
  id(record: JourneyRecord, step: string) {
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
  until(caseRef: string, what: string, pick: (s: hub.CaseSummary) => boolean, timeoutMs = this.stepTimeoutMs) {
    return this.watcher.until(caseRef, what, pick, timeoutMs);
  }

  /** Waits, through the shared watcher, for the case's timeline at the hub to show a step. */
  untilTimeline(caseRef: string, what: string, pick: (t: Timeline) => boolean) {
    return this.watcher.untilTimeline(caseRef, what, pick, this.stepTimeoutMs);
  }

  migrationService(id: string) {
    const client = this.net.migrationServices.get(id);
    if (!client) throw new Error(`the hub routed to ${id}, which is no migration service of this network`);
    return client;
  }

  /** The provider the hub routed the referral to, or null when it found none (unroutable). */
  async routedTo(caseRef: string, referralId: string): Promise<Routed | null> {
    const s = await this.until(caseRef, 'the routing decision', (c) => c.referralId === referralId && c.status !== S.REFERRAL_STATUS_REQUESTED);
    if (s.status === S.REFERRAL_STATUS_UNROUTABLE) return null;
    if (s.status !== S.REFERRAL_STATUS_PENDING) throw new Error(`hub: referral ${referralId} is ${common.referralStatusToJSON(s.status)} before any decision`);
    return { provider: s.currentAgencyId, referralId };
  }

  /**
   * After a decline: re-routed to another provider (pending there), unroutable (null), or left
   * declined (undefined) when the hub does not re-route within a moment.
   */
  async afterDecline(caseRef: string, provider: string): Promise<Routed | null | undefined> {
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
  async received(record: JourneyRecord, referralId: string): Promise<void> {
    await this.untilTimeline(record.caseRef!, `the receipt of referral ${referralId}`, (t) =>
      t.entries.some((e) => e.eventType === 'ReferralReceived' && e.referralId === referralId),
    );
  }
}
