// Integration tier: GetCaseTimeline answers from one snapshot, on the real PostgreSQL. Seen once in
// a fresh-clone CI run: a step applied between the handler's read of the case summary and its read
// of the entries gave four entries, the last an acceptance, under a summary still pending.
import { common } from '@lotse/contracts';
import { sql } from '@lotse/db';
import { waitFor } from '@lotse/testing';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubFixture, type HubUnderTest } from './support/hub-fixture.js';

const { ReferralStatus } = common;

let hub: HubUnderTest;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(() => hub?.stop());

describe('a case timeline (real PostgreSQL)', () => {
  it('shows the summary and the entries as of one moment, also when a step commits between the two reads', async () => {
    const { caseRef, referralId } = await hub.requestReferral();
    const before = await hub.waitForTimeline(caseRef, 2);
    expect(before.caseSummary?.status).toBe(ReferralStatus.REFERRAL_STATUS_PENDING);
    const db = hub.running.ctx.db as any;

    // A step as the hub's handlers write it: the summary's status and a timeline entry, in one
    // transaction. It holds timeline_entry exclusively until told to commit, so the handler's next
    // read of timeline_entry after the summary (the caller's party check) waits for it.
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const step = db.transaction().execute(async (trx: any) => {
      await sql`update case_index set status = ${ReferralStatus.REFERRAL_STATUS_ACCEPTED}, updated_at = now() where case_ref = ${caseRef}`.execute(trx);
      await sql`insert into timeline_entry (event_id, case_ref, referral_id, event_type, agency_id, occurred_at, trace_id, summary)
                values (${uuidv7()}, ${caseRef}, ${referralId}, 'ReferralAccepted', ${hub.adultProviderId}, now(), '', 'accepted')`.execute(trx);
      await sql`lock table timeline_entry in access exclusive mode`.execute(trx);
      holding();
      await committing;
    });
    await held;

    const read = hub.timeline(caseRef);
    await waitFor(
      async () => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query like '%from "case_index"%' and query like '%"timeline_entry"%'`.execute(db);
        return rows[0]!.n > 0;
      },
      'the timeline read waiting for the step',
    ).finally(commit);
    await step;
    const t = (await read)!;

    // Either before the step (pending, two entries) or after it (accepted, three), never a mix.
    const seen = { status: t.caseSummary?.status, entries: t.entries.length };
    expect([
      { status: ReferralStatus.REFERRAL_STATUS_PENDING, entries: 2 },
      { status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, entries: 3 },
    ]).toContainEqual(seen);
    // And the next read sees the step whole.
    const after = (await hub.timeline(caseRef))!;
    expect({ status: after.caseSummary?.status, entries: after.entries.length }).toEqual({ status: ReferralStatus.REFERRAL_STATUS_ACCEPTED, entries: 3 });
  });
});
