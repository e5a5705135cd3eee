// Journeys across hosts (issue 15): the real foreign office, Lotsenhaus and Caritas Koblenz, each
// in a network namespace of its own with its own leaf node and database, over the hub's three-node
// cluster (netns/journey-world.ts), driven by `pnpm scenario` from a desk host over gRPC. Under no
// fault, and while journeys go on with one cluster node killed with -9 for 10 s, with the foreign
// office's link to the cluster cut for 60 s, with the hub's node cut off from every host for 20 s
// (2 | 1), and with 300 ms of latency and 5 % loss on the provider's link (its gRPC and its leaf's
// link alike), every journey ends with counselling started, and each agency's own database says
// so by direct SQL: the foreign office's referral, the hub's routing to Caritas Koblenz, the
// provider's accepted referral with its first contact and its record of the newcomer, once per
// journey. LOTSE_NETNS_KEEP=1 keeps the logs of every server and service.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '@lotse/db';
import { waitFor } from '@lotse/testing';
import { agencies, removeDir, startJourneyWorld, type JourneyWorld } from './netns/journey-world.js';

/** REFERRAL_STATUS_COUNSELLING_STARTED (common.proto) and INBOX_STATUS_ACCEPTED (migration_services.proto). */
const counsellingStarted = 5;
const inboxAccepted = 2;
/** Journeys that end with counselling: no decline, revocation, expiry or job centre in the mix. */
const counsellingOnly = ['--mix', 'decline=0,revoke=0,expire=0,jobcentre=0'];

let dir: string;
let world: JourneyWorld;
/** Journeys driven so far: each agency's tables must hold exactly this many. */
let driven = 0;
const figures: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-netns-journeys-'));
  const t0 = Date.now();
  world = await startJourneyWorld(dir);
  figures.push(`the world up (3 nodes, 2 leaves, 3 services) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 240_000);

afterAll(async () => {
  await world?.close();
  if (figures.length) console.log(`netns journeys figures:\n  ${figures.join('\n  ')}`);
  if (process.env.LOTSE_NETNS_KEEP) console.log(`netns journeys: logs kept in ${dir}`);
  else if (dir) removeDir(dir);
});

interface Tally {
  referrals: number;
  counselling: number;
  routed: number;
  routedToCaritas: number;
  accepted: number;
  firstContacts: number;
  records: number;
}

/** What each agency's own database holds, by direct SQL. */
async function tally(): Promise<Tally> {
  const one = async (db: JourneyWorld['db'][keyof JourneyWorld['db']], query: ReturnType<typeof sql<{ n: number }>>) => Number((await query.execute(db.db)).rows[0]!.n);
  return {
    referrals: await one(world.db.fo, sql`select count(*)::int as n from referral`),
    counselling: await one(world.db.fo, sql`select count(*)::int as n from referral where status = ${counsellingStarted}`),
    routed: await one(world.db.hub, sql`select count(*)::int as n from hub_referral`),
    routedToCaritas: await one(world.db.hub, sql`select count(*)::int as n from hub_referral where status = ${counsellingStarted} and provider_id = ${agencies.ms.id}`),
    accepted: await one(world.db.ms, sql`select count(*)::int as n from received_referral`),
    firstContacts: await one(world.db.ms, sql`select count(*)::int as n from received_referral where status = ${inboxAccepted} and first_contact_date is not null`),
    records: await one(world.db.ms, sql`select count(distinct referral_id)::int as n from newcomer_record`),
  };
}

/** Every journey driven so far accounted for in every agency's database, each once. */
async function everyJourneyAccounted(what: string, boundMs = 120_000): Promise<Tally> {
  const expected: Tally = { referrals: driven, counselling: driven, routed: driven, routedToCaritas: driven, accepted: driven, firstContacts: driven, records: driven };
  let last: Tally | undefined;
  try {
    return await waitFor(
      async () => {
        last = await tally();
        if (JSON.stringify(last) === JSON.stringify(expected)) return last;
        await sleep(500);
        return undefined;
      },
      () => `${what}: every journey in every agency's database, once (expected ${driven} each, last ${JSON.stringify(last)})\n${world.logs()}`,
      boundMs,
    );
  } finally {
    if (last) expect(last).toEqual(expected);
  }
}

/** `pnpm scenario` from the desk: n journeys at `rate` per second; its exit code and summary line. */
async function journeys(n: number, rate: number, during?: () => Promise<void>) {
  const t0 = Date.now();
  const run = world.scenario(['--journeys', String(n), '--rate', String(rate), ...counsellingOnly, '--seed', String(1000 + driven)], `scenario-${driven}`);
  driven += n;
  await during?.();
  const { code, output } = await run;
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  expect(code, `the scenario's exit code\n${output.slice(-3000)}`).toBe(0);
  // The scenario's own figures: from the referral's request, and from a caseworker's decision at
  // the provider (accept, first contact), to the hub's timeline entry.
  const figure = (name: string, pattern: RegExp) => {
    const m = pattern.exec(output);
    return m ? `${name} p50 ${m[1]}, p99 ${m[2]}` : `no ${name} line`;
  };
  const latency = [
    figure('referral → hub', /referral → hub latency p50 ([^,]+), p90 [^,]+, p99 ([^,]+),/),
    figure('decision → hub', /caseworker decision → hub [^:]*: p50 ([^,]+), p90 [^,]+, p99 ([^,]+),/),
  ].join(', ');
  return { t0, seconds, latency };
}

/** Seconds from `since` to the hub's last change of a referral: when the last journey was through. */
async function lastAtHub(since: number): Promise<string> {
  const { rows } = await sql<{ at: Date }>`select max(updated_at) as at from hub_referral`.execute(world.db.hub.db);
  return ((rows[0]!.at.getTime() - since) / 1000).toFixed(1);
}

/**
 * n journeys at `rate` while `fault` runs (it calls `begins` as it strikes, and resolves when the
 * fault has ended); then every journey accounted for, and the fault's figures, in seconds from
 * the scenario's start: when the fault began and ended, when the last journey started and when it
 * was through the hub, with the scenario's latencies.
 */
async function underFault(what: string, n: number, rate: number, fault: (begins: () => void) => Promise<void>, extra = () => '') {
  let began = 0;
  let ended = 0;
  const run = await journeys(n, rate, async () => {
    await fault(() => (began = Date.now()));
    ended = Date.now();
  });
  await everyJourneyAccounted(what);
  const at = (t: number) => ((t - run.t0) / 1000).toFixed(1);
  figures.push(
    `${what}: ${n} journeys at ${rate}/s, each once in every agency; the fault from ${at(began)} s to ${at(ended)} s, the last journey started at ${((n - 1) / rate).toFixed(1)} s and was through the hub at ${await lastAtHub(run.t0)} s; ${run.latency}${extra()}`,
  );
}

describe('journeys across hosts: every service on a host of its own', () => {
  it('no fault: every journey ends with counselling, once in each agency', async () => {
    const { seconds, latency } = await journeys(10, 2);
    await everyJourneyAccounted('no fault');
    figures.push(`no fault: 10 journeys at 2/s, the scenario done in ${seconds} s; ${latency}`);
  }, 180_000);

  it('a cluster node killed with -9 and restarted after 10 s while journeys go on', async () => {
    // nats-1: the node the hub is connected to (NATS_URL, as in compose), so its connection moves too.
    await underFault('nats-1 (the hub’s node) killed -9, restarted after 10 s', 30, 1, async (begins) => {
      await sleep(8_000);
      begins();
      await world.killNode('nats-1');
      try {
        await sleep(10_000);
      } finally {
        world.startNode('nats-1');
      }
    });
    await waitFor(() => world.monitor('n1', '/healthz')?.status === 'ok', 'nats-1 healthy again', 90_000);
  }, 240_000);

  it('the foreign office’s link to the cluster cut for 60 s while journeys go on: they wait in its outbox, then complete', async () => {
    let atHubDuringCut = 0;
    const before = driven;
    await underFault(
      'the foreign office’s bus link cut 60 s',
      60,
      1,
      async (begins) => {
        await sleep(5_000);
        begins();
        world.cutBus('fo', true);
        try {
          await sleep(60_000);
          atHubDuringCut = (await tally()).routed - before;
        } finally {
          world.cutBus('fo', false);
        }
      },
      () => `; ${atHubDuringCut} of 60 at the hub by the end of the cut`,
    );
    // Referrals requested during the cut could not reach the hub until it ended.
    expect(atHubDuringCut, 'journeys routed by the hub by the end of the cut').toBeLessThan(20);
  }, 360_000);

  it('partition 2 | 1, the hub’s node cut off from every host for 20 s while journeys go on', async () => {
    await underFault('partition 2 | 1, nats-1 (the hub’s node) cut off 20 s', 30, 1, async (begins) => {
      await sleep(5_000);
      begins();
      world.topology.cable('n1', 'down');
      try {
        await sleep(20_000);
      } finally {
        world.topology.cable('n1', 'up');
      }
    });
    await waitFor(() => ['n1', 'n2', 'n3'].every((k) => world.monitor(k, '/healthz')?.status === 'ok'), 'the cluster healthy again', 90_000);
  }, 300_000);

  it('300 ms of latency with 5 % loss on the provider’s link for 30 s while journeys go on', async () => {
    await underFault('300 ms + 5 % loss on the provider’s link (gRPC and leaf) for 30 s', 30, 1, async (begins) => {
      begins();
      const restore = await world.topology.slowCable('ms', 300, 0.05);
      try {
        await sleep(30_000);
      } finally {
        await restore();
      }
    });
  }, 300_000);
});
