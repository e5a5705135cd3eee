// The suite's cases on the agency's free capacity, published to the hub once per request id, and on
// the workflow's calls refused to any agency but itself.
import { status } from '@grpc/grpc-js';
import { common, events } from '@lotse/contracts';
import { expect, it } from 'vitest';
import { waitFor } from './index.js';
import type { ReferralWorkflowFixture } from './referral-workflow-fixture.js';

const { DeclineReason, ReferralOutcome } = common;

const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function capacityAndAccessCases(f: ReferralWorkflowFixture): void {
  const { target, agencyId, outsider, client, routed, referOnRequest, outbox, published, snapshot, expectInvalid, expectCode } = f;

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

    const changed = await outbox('CapacityChanged', events.CapacityChanged, isCapacity);
    expect(changed.map((e) => e.message)).toEqual([
      { providerId: agencyId, kind, free: 7, changedAt: expect.any(Date) },
      { providerId: agencyId, kind, free: 0, changedAt: expect.any(Date) },
    ]);
    // No case: the event carries no case reference.
    expect(changed.map((e) => e.caseRef)).toEqual(['', '']);
    const relayed = await waitFor(async () => {
      const found = await published('CapacityChanged', events.CapacityChanged, isCapacity);
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
}
