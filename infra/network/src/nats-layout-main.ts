// `pnpm nats-layout`: writes the cluster and leaf configurations of docker-compose.yml and
// infra/k8s (nats-layout-files.ts). Run it after changing deployments, flows or the layout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { layoutFiles } from './nats-layout-files.js';
import { repoRoot } from './paths.js';

for (const [path, text] of layoutFiles()) {
  const file = join(repoRoot, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  process.stdout.write(`wrote ${path}\n`);
}
