// Integration tier: WatchTimeline streams a case's timeline as it grows, on the real PostgreSQL
// and NATS JetStream, over gRPC with mTLS.
import { status } from '@grpc/grpc-js';
import { common, lotsenhaus } from '@lotse/contracts';
import { sleep, waitFor } from '@lotse/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCaseRef, startHubFixture, type HubUnderTest } from './support/hub-fixture.js';

const { ReferralStatus } = common;

let hub: HubUnderTest;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(() => hub?.stop());

describe('WatchTimeline: the timeline as it grows', () => {
  /** Opens a watch and collects what arrives, until cancelled or the hub ends it. */
  function watch(request: Partial<lotsenhaus.WatchTimelineRequest>) {
    const call = hub.client.raw.watchTimeline(lotsenhaus.WatchTimelineRequest.fromPartial(request));
    const got: lotsenhaus.WatchTimelineResponse[] = [];
    call.on('data', (m: lotsenhaus.WatchTimelineResponse) => got.push(m));
    const ended = new Promise<{ code: number; details: string }>((resolve) => {
      call.on('error', (e: any) => resolve({ code: e.code, details: e.details }));
      call.on('end', () => resolve({ code: status.OK, details: '' }));
    });
    const ofCase = (caseRef: string) => got.filter((m) => m.caseRef === caseRef);
    return { call, got, ended, ofCase };
  }

  it('streams each step of a case in order with the case as it stands, only the asked case when filtered, and resumes after a position', async () => {
    const all = watch({});
    const other = watch({ caseRef: newCaseRef() });
    // The watch starts "from now": give the hub a moment to take both in before the steps come.
    await sleep(300);
    const { caseRef, referralId, eventId } = await hub.requestReferral();
    await waitFor(() => (all.ofCase(caseRef).length >= 2 ? true : undefined), 'both steps streamed');

    const steps = all.ofCase(caseRef);
    expect(steps.map((m) => m.entry!.eventType)).toEqual(['ReferralRequested', 'ReferralRouted']);
    expect(steps[0]!.entry!.eventId).toBe(eventId);
    expect(steps[1]!.position).toBeGreaterThan(steps[0]!.position);
    for (const m of steps) expect(m.entry!.referralId).toBe(referralId);
    expect(steps[1]!.caseSummary).toMatchObject({ caseRef, status: ReferralStatus.REFERRAL_STATUS_PENDING, currentAgencyId: hub.adultProviderId });
    // The same steps GetCaseTimeline shows.
    const t = await hub.timeline(caseRef);
    expect(steps.map((m) => m.entry!.eventId)).toEqual(t!.entries.map((e) => e.eventId));
    expect(other.got).toEqual([]);

    // A watcher that resumes after the first step gets the second, recorded before it came.
    const resumed = watch({ afterPosition: steps[0]!.position, caseRef });
    await waitFor(() => (resumed.got.length >= 1 ? true : undefined), 'the step after the position');
    await sleep(300);
    expect(resumed.got.map((m) => m.position)).toEqual([steps[1]!.position]);

    for (const w of [all, other, resumed]) w.call.cancel();
    expect((await all.ended).code).toBe(status.CANCELLED);
  });

  it('refuses a case reference longer than 64 characters with INVALID_ARGUMENT naming case_ref', async () => {
    const w = watch({ caseRef: 'C-'.padEnd(65, 'X') });
    const ended = await w.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toContain('case_ref');
    expect(w.got).toEqual([]);
  });
});
