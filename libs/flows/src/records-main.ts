// `pnpm records`: writes docs/records-of-processing/<agency-type>.md from policy/flows.yaml.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordsDir, recordsOfProcessing } from './records.js';

mkdirSync(recordsDir, { recursive: true });
const documents = recordsOfProcessing();
for (const name of readdirSync(recordsDir)) if (name.endsWith('.md') && !documents.has(name)) rmSync(join(recordsDir, name));
for (const [name, text] of documents) {
  writeFileSync(join(recordsDir, name), text);
  process.stdout.write(`${join(recordsDir, name)}\n`);
}
