// Messages a consumer will park, published as a broken or early producer would: with the
// producer's own certificate, since the broker lets nobody else publish on its subjects, and
// signed with its key, since consumers park what their producer did not sign.
import { randomUUID } from 'node:crypto';
import { envelope } from '@lotse/contracts';
import { connectNats, EventSigner } from '@lotse/messaging';
import { loadIdentity } from '@lotse/pki';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { RunningNetwork } from '../../src/network-process.js';

export async function publishRaw(network: RunningNetwork, subject: string, data: Uint8Array): Promise<void> {
  const producer = subject.split('.')[1]!;
  const identity = loadIdentity(network.network().pki, producer);
  const nats = await connectNats({ servers: network.network().nats, name: producer, tls: identity });
  try {
    const headers = natsHeaders();
    new EventSigner(identity).sign(subject, data, headers);
    await nats.js.publish(subject, data, { msgID: randomUUID(), headers });
  } finally {
    await nats.close();
  }
}

export function eventBytes(producer: string, eventType: string, caseRef: string, payload: Uint8Array): Uint8Array {
  return envelope.Envelope.encode({ eventId: randomUUID(), eventType, occurredAt: new Date(), producerAgencyId: producer, caseRef, schemaVersion: 1, payload: Buffer.from(payload) }).finish();
}
