// `pnpm nats-config`: writes infra/nats/authorization.conf (the broker's users and permissions).
import { writeFileSync } from 'node:fs';
import { demoAuthorization } from './broker.js';
import { repoRoot } from './paths.js';

const file = `${repoRoot}/infra/nats/authorization.conf`;
writeFileSync(file, demoAuthorization());
process.stdout.write(`wrote ${file}\n`);
