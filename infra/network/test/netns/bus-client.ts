// Run inside a network namespace by netns-bus.e2e.test.ts (`ip netns exec <ns> node --import tsx
// bus-client.ts …`): a deployment's bus client as it would run on its own host.
//   publish <url> <id> <pki> <subject>               for each stdin line "<from> <to>": publish events from..to-1
//                                                      (Nats-Msg-Id event-<i>), each retried until acknowledged, as the relay does
//   consume <url> <id> <pki> <stream> <durable> <filter> <count>
//                                                      read and ack until <count> distinct events; print them
import { createInterface } from 'node:readline';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connectNats, ensureAgencyStream, retryWhileElecting } from '@lotse/messaging';
import { loadIdentity } from '@lotse/pki';

const [command, url, id, pki, ...rest] = process.argv.slice(2);
const nats = await connectNats({ servers: url!, name: id!, tls: loadIdentity(pki!, id!) });
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

if (command === 'publish') {
  // Each line on stdin, "<from> <to>", publishes that range; a line on stdout reports each retry
  // and the end of the range, so the test acts on what happened, not on time.
  const [subject] = rest;
  // Right after a node loss the cluster may still be electing: asked again, as a service would.
  await retryWhileElecting(() => ensureAgencyStream(nats.jsm, id!, 3));
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [from, to] = line.trim().split(/\s+/).map(Number);
    let retries = 0;
    const started = Date.now();
    const latencies: number[] = [];
    for (let i = from!; i < to!; i++) {
      const t0 = Date.now();
      for (;;) {
        try {
          await nats.js.publish(subject!, new TextEncoder().encode(String(i)), { msgID: `event-${i}`, timeout: 2_000 });
          break;
        } catch {
          retries++;
          out({ retry: i, at: Date.now() });
          // The relay backs off too; without it a broker that refuses at once is hammered.
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      latencies.push(Date.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    out({ done: to, published: to! - from!, retries, ms: Date.now() - started, at: Date.now(), maxMs: latencies.at(-1), p50Ms: latencies[Math.floor(latencies.length / 2)] });
  }
} else if (command === 'consume') {
  const [stream, durable, filter, count] = rest;
  // After the partition healed, the stream's and the consumer's leaders may still be elected anew.
  await retryWhileElecting(() => nats.jsm.consumers.add(stream!, { durable_name: durable!, filter_subject: filter!, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All }));
  const consumer = await retryWhileElecting(() => nats.js.consumers.get(stream!, durable!));
  const seen = new Map<string, number>();
  while (seen.size < Number(count)) {
    for await (const m of await consumer.fetch({ max_messages: 100, expires: 2_000 })) {
      const body = new TextDecoder().decode(m.data);
      seen.set(body, (seen.get(body) ?? 0) + 1);
      await m.ackAck();
    }
  }
  const info = await retryWhileElecting(() => nats.jsm.consumers.info(stream!, durable!));
  // The hub may not look at the producer's stream itself (its permissions): the consumer's view.
  out({ distinct: seen.size, deliveries: [...seen.values()].reduce((a, b) => a + b, 0), pending: info.num_pending, ackPending: info.num_ack_pending, ackFloor: info.ack_floor.stream_seq });
} else {
  throw new Error(`unknown command ${command}`);
}
await nats.close();
