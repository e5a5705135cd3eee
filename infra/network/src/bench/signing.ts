// `pnpm bench:signing [--events N (3000)] [--nats URL]`
//
// What signing costs per event (issue 11): in one run, with the development PKI's ECDSA P-256 keys,
// - sign: EventSigner.sign over a realistic envelope (a ReferralRequested of ~250 bytes);
// - verify: EventVerifier.verify + checkEnvelope, the certificate already checked once (cached);
// - publish: N JetStream publishes of the same envelopes, unsigned and signed, one after another
//   with the publish awaited (as the relay's one-at-a-time path), on a stream of its own on the
//   broker at --nats (default: the shared nats://127.0.0.1:4222), deleted afterwards.
// Each figure is wall time and CPU (user+system of this process) per event, median of 5 rounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envelope, events } from '@lotse/contracts';
import { connectNats, ensureAgencyStream, eventSubject, EventSigner, EventVerifier, streamName } from '@lotse/messaging';
import { ensureDevPki, loadIdentity } from '@lotse/pki';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { randomUUID as uuidv7 } from 'node:crypto';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const n = Number(option('--events', '3000'));
const natsUrl = option('--nats', 'nats://127.0.0.1:4222');
const producer = `bench-sign-${process.pid}`;

const pki = mkdtempSync(join(tmpdir(), 'lotse-bench-sign-'));
await ensureDevPki(pki, [{ id: producer, agencyType: 'foreign-office' }]);
const identity = loadIdentity(pki, producer);
const signer = new EventSigner(identity);
const verifier = new EventVerifier({ ca: identity.ca, isRevoked: () => false, mayProduce: () => true });
const subject = eventSubject(producer, 'ReferralRequested');
const envelopes = Array.from({ length: n }, () =>
  envelope.Envelope.encode({
    eventId: uuidv7(),
    eventType: 'ReferralRequested',
    occurredAt: new Date(),
    producerAgencyId: producer,
    caseRef: `C-${uuidv7()}`,
    schemaVersion: 1,
    payload: Buffer.from(
      events.ReferralRequested.encode(
        events.ReferralRequested.fromPartial({ referralId: uuidv7(), caseRef: 'C-1', consentId: uuidv7(), municipality: 'koblenz', languages: ['ar', 'en'], consentedRecipients: ['migration-services'] }),
      ).finish(),
    ),
  }).finish(),
);

interface Figure {
  wallUs: number;
  cpuUs: number;
}
async function measure(run: () => Promise<void> | void): Promise<Figure> {
  const rounds: Figure[] = [];
  for (let r = 0; r < 5; r++) {
    const cpu = process.cpuUsage();
    const t = performance.now();
    await run();
    const used = process.cpuUsage(cpu);
    rounds.push({ wallUs: ((performance.now() - t) * 1000) / n, cpuUs: (used.user + used.system) / n });
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wallUs: median(rounds.map((f) => f.wallUs)), cpuUs: median(rounds.map((f) => f.cpuUs)) };
}

const signedHeaders = envelopes.map((data) => {
  const h = natsHeaders();
  signer.sign(subject, data, h);
  return h;
});
const sign = await measure(() => {
  for (const data of envelopes) signer.sign(subject, data, natsHeaders());
});
const verify = await measure(() => {
  for (const [i, data] of envelopes.entries()) {
    const signature = verifier.verify(subject, data, signedHeaders[i]);
    verifier.checkEnvelope(signature!, { producerAgencyId: producer, eventType: 'ReferralRequested' });
  }
});

const nats = await connectNats({ servers: natsUrl, name: producer });
let unsigned: Figure;
let signed: Figure;
try {
  await ensureAgencyStream(nats.jsm, producer);
  let round = 0;
  const publishAll = async (withSignature: boolean) => {
    round += 1;
    for (const [i, data] of envelopes.entries()) {
      const h = natsHeaders();
      if (withSignature) signer.sign(subject, data, h);
      await nats.js.publish(subject, data, { msgID: `${round}-${i}`, headers: h });
    }
  };
  // Interleaved warm-up, then each kind in turn.
  await publishAll(false);
  await publishAll(true);
  unsigned = await measure(() => publishAll(false));
  signed = await measure(() => publishAll(true));
} finally {
  await nats.jsm.streams.delete(streamName(producer)).catch(() => undefined);
  await nats.close();
  rmSync(pki, { recursive: true, force: true });
}

const f = (x: number) => x.toFixed(1).padStart(8);
const header = signedHeaders[0]!;
const headerBytes = (header.get('Lotse-Signature').length + header.get('Lotse-Signer').length) as number;
process.stdout.write(
  [
    `signing cost per event (ECDSA P-256 / SHA-256, ${n} events of ~${envelopes[0]!.length} bytes, median of 5 rounds; ${natsUrl})`,
    `                         wall µs   CPU µs`,
    `sign                    ${f(sign.wallUs)} ${f(sign.cpuUs)}`,
    `verify (+ envelope)     ${f(verify.wallUs)} ${f(verify.cpuUs)}`,
    `publish, unsigned       ${f(unsigned.wallUs)} ${f(unsigned.cpuUs)}`,
    `publish, signed         ${f(signed.wallUs)} ${f(signed.cpuUs)}`,
    `signed − unsigned       ${f(signed.wallUs - unsigned.wallUs)} ${f(signed.cpuUs - unsigned.cpuUs)}`,
    `headers added per event: ${headerBytes} bytes (signature + certificate, base64)`,
    '',
  ].join('\n'),
);
