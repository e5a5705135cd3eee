// Run inside the hub's namespace by netns-federation.e2e.test.ts (`ip netns exec <ns> node --import
// tsx operator.ts …`): one request of the hub operator to the cluster's JetStream API, as the test's
// operator user (federation.ts; no deployment may do this), with its answer as JSON on stdout.
//   delete-stream <nats-urls> <id> <pki> <stream>   deletes the stream; prints when, and its info from before
import { connectNats } from '@lotse/messaging';
import { loadIdentity } from '@lotse/pki';

const [command, url, id, pki, stream] = process.argv.slice(2);
if (command !== 'delete-stream') throw new Error(`unknown command ${command}`);
const nats = await connectNats({ servers: url!.split(','), name: id!, tls: loadIdentity(pki!, id!) });
try {
  const before = await nats.jsm.streams.info(stream!);
  const deleted = await nats.jsm.streams.delete(stream!);
  // When the cluster answered: the fault's moment (this process takes a second or two to start).
  const at = new Date().toISOString();
  process.stdout.write(JSON.stringify({ deleted, at, created: before.created, messages: before.state.messages, lastSeq: before.state.last_seq }) + '\n');
} finally {
  await nats.close();
}
