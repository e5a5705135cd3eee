// A liveness/readiness probe for a deployment's gRPC server: grpc.health.v1.Health/Check over
// mutual TLS with the deployment's own certificate. Kubernetes' built-in gRPC probe cannot present
// a client certificate, and every Lotse server requires one, so the pod runs this instead:
//   node --import tsx infra/network/src/health-probe.ts        (GRPC_PORT, PKI_DIR, and the id variable)
// Exit 0: SERVING; 1: anything else (NOT_SERVING while the database is away, no answer, refused).
import { credentials, Client, type ServiceError } from '@grpc/grpc-js';
import { loadIdentity } from '@lotse/pki';

const id = process.env.AGENCY_ID ?? process.env.PROVIDER_ID ?? process.env.JOB_CENTRE_ID ?? process.env.CONSOLE_ID;
const port = Number(process.env.GRPC_PORT);
if (!id || !Number.isInteger(port)) {
  process.stderr.write('health-probe: needs GRPC_PORT and AGENCY_ID, PROVIDER_ID or JOB_CENTRE_ID\n');
  process.exit(2);
}
const identity = loadIdentity(process.env.PKI_DIR ?? '/pki', id);
// The server's certificate names the deployment (its id is a DNS name in it), not "127.0.0.1".
const client = new Client(`127.0.0.1:${port}`, credentials.createSsl(Buffer.from(identity.ca), Buffer.from(identity.key), Buffer.from(identity.cert)), {
  'grpc.ssl_target_name_override': id,
});
// HealthCheckRequest{service: ""} is empty on the wire; the answer's field 1 is the status (1 = SERVING).
client.makeUnaryRequest(
  '/grpc.health.v1.Health/Check',
  () => Buffer.alloc(0),
  (b: Buffer) => b,
  null,
  { deadline: Date.now() + 3_000 },
  (error: ServiceError | null, response?: Buffer) => {
    client.close();
    const serving = !error && response !== undefined && response.length >= 2 && response[0] === 0x08 && response[1] === 0x01;
    if (!serving) process.stderr.write(`health-probe: ${error ? error.message : 'NOT_SERVING'}\n`);
    process.exit(serving ? 0 : 1);
  },
);
