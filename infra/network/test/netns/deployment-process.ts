// Run inside a host's network namespace by netns-federation.e2e.test.ts (`ip netns exec <ns> node
// --import tsx deployment-process.ts …`): the messaging half of a deployment as it would run on
// its own host, with the real code of @lotse/messaging and a real PostgreSQL database.
//   relay   <nats-url> <id> <pki> <db-url>               the agency's OutboxRelay (3 replicas)
//   consume <nats-url> <id> <pki> <db-url> <producer>    the hub's durable consumer of <producer>'s
//           stream; its handler writes one `effect` row per run, in the applied_event transaction
// Logs (pino JSON) go to stdout, which the test writes to a file; SIGTERM stops it cleanly.
import { openDatabase } from '@lotse/db';
import { createLogger } from '@lotse/logger';
import { agencySubjects, connectNats, OutboxRelay, startConsumer } from '@lotse/messaging';
import { loadIdentity } from '@lotse/pki';

const [command, url, id, pki, dbUrl, producer] = process.argv.slice(2);
const logger = createLogger(`netns-${command}`, { level: 'info' });
const nats = await connectNats({ servers: url!.split(','), name: id!, tls: loadIdentity(pki!, id!) });
const database = await openDatabase<any>({ url: dbUrl!, dataDir: 'unused', poolSize: 4 });

let stop: () => Promise<void>;
if (command === 'relay') {
  // A short poll: the test writes the outbox from outside this process, so no notify() comes.
  const relay = new OutboxRelay({ db: database.db, js: nats.js, logger, producerAgencyId: id!, streamReplicas: 3, pollIntervalMs: 200 });
  relay.start();
  stop = () => relay.stop();
} else if (command === 'consume') {
  const consumer = await startConsumer({
    db: database.db,
    js: nats.js,
    jsm: nats.jsm,
    nc: nats.nc,
    logger,
    durableName: id!,
    producerAgencyId: producer!,
    filterSubjects: [agencySubjects(producer!)],
    maxMessages: 50,
    // Not keyed: a second run of the handler for one event would show as a second row.
    handle: async (trx, event) => {
      await trx.insertInto('effect').values({ event_id: event.envelope.eventId }).execute();
    },
  });
  stop = () => consumer.stop();
} else {
  throw new Error(`unknown command ${command}`);
}
logger.info({ command }, 'netns deployment process started');

process.once('SIGTERM', () => {
  void (async () => {
    await stop();
    await nats.close().catch(() => undefined);
    await database.close();
    process.exit(0);
  })();
});
