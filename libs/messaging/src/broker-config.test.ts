import { describe, expect, it } from 'vitest';
import { authorizationBlock, certificateSubject, durablesFor, observerPermissions, permissionsFor, type BrokerNetwork } from './broker-config.js';

const network: BrokerNetwork = {
  deployments: [
    { id: 'fo', agencyType: 'foreign-office' },
    { id: 'hub', agencyType: 'lotsenhaus' },
    { id: 'mbe', agencyType: 'migration-services' },
    { id: 'jc', agencyType: 'job-centre' },
  ],
  hubId: 'hub',
  eventFlows: [
    { senderType: 'foreign-office', recipientType: 'lotsenhaus', event: 'ReferralRequested' },
    { senderType: 'lotsenhaus', recipientType: 'foreign-office', event: 'ReferralStatusChanged' },
    { senderType: 'lotsenhaus', recipientType: 'migration-services', event: 'ReferralRouted' },
    { senderType: 'migration-services', recipientType: 'lotsenhaus', event: 'ReferralAccepted' },
  ],
  observers: [{ id: 'console', agencyType: 'operator' }],
  organisation: 'Lotse dev network',
};
const [fo, hub, mbe, jc] = network.deployments as [any, any, any, any];

describe('brokerConfig permissions', () => {
  it('maps a user per certificate subject, as nats-server renders it', () => {
    expect(certificateSubject(mbe, network.organisation)).toBe('CN=mbe,OU=migration-services,O=Lotse dev network');
  });

  it('the hub follows whole streams of those that send to it; others only what is addressed to them', () => {
    expect(durablesFor(hub, fo, network)).toEqual([{ name: 'hub__all', filter: 'lotse.fo.>' }]);
    expect(durablesFor(mbe, hub, network)).toEqual([
      { name: 'mbe__any_mbe', filter: 'lotse.hub.*.mbe' },
      { name: 'mbe__referral-routed_mbe', filter: 'lotse.hub.referral-routed.mbe' },
    ]);
    // No row, no durable: the job centre receives nothing in this table; spokes never read spokes.
    expect(durablesFor(jc, hub, network)).toEqual([]);
    expect(durablesFor(mbe, fo, network)).toEqual([]);
  });

  it('publishes only on its own subjects, manages only its own stream, and reads only the counters of a stream it consumes', () => {
    const p = permissionsFor(mbe, network);
    expect(p.publish.filter((s) => s.startsWith('lotse.'))).toEqual(['lotse.mbe.>']);
    expect(p.publish.filter((s) => s.startsWith('$JS.API.STREAM.'))).toEqual([
      '$JS.API.STREAM.CREATE.LOTSE_MBE',
      '$JS.API.STREAM.UPDATE.LOTSE_MBE',
      '$JS.API.STREAM.DELETE.LOTSE_MBE',
      '$JS.API.STREAM.INFO.LOTSE_MBE',
    ]);
    expect(p.publish).toContain('$JS.API.CONSUMER.CREATE.LOTSE_HUB.mbe__any_mbe.lotse.hub.*.mbe');
    // Its own durable's leader may be moved by it; no other durable's.
    expect(p.publish.filter((s) => s.includes('STEPDOWN'))).toEqual(p.publish.filter((s) => s.startsWith('$JS.API.CONSUMER.INFO.')).map((s) => s.replace('CONSUMER.INFO', 'CONSUMER.LEADER.STEPDOWN')));
    // Deleting: its own stream only (one that went back is made again), never a durable or a message.
    expect(p.publish.filter((s) => s.includes('DELETE'))).toEqual(['$JS.API.STREAM.DELETE.LOTSE_MBE']);
    expect(p.publish.some((s) => s.includes('DURABLE.CREATE') || s.includes('PURGE') || s.includes('MSG.GET'))).toBe(false);
    expect(p.subscribe).toEqual(['_INBOX_mbe.>']);
  });

  it('the observer reads state, never a message', () => {
    const p = observerPermissions(network.observers![0]!, network);
    expect(p.publish.some((s) => s.startsWith('lotse.') || s.includes('MSG') || s.includes('CREATE') || s.includes('DELETE'))).toBe(false);
  });

  it('refuses a network listed twice or without its hub', () => {
    expect(() => authorizationBlock({ ...network, deployments: [...network.deployments, fo] })).toThrow(/twice/);
    expect(() => authorizationBlock({ ...network, hubId: 'nobody' })).toThrow(/hub/);
  });
});
