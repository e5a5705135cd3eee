// `pnpm records`: writes docs/records-of-processing/<agency-type>.md from policy/flows.yaml, and
// docs/access-matrix.md from policy/access.yaml.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessMatrixDocument } from './access-matrix.js';
import { recordsDir, recordsOfProcessing } from './records.js';

mkdirSync(recordsDir, { recursive: true });
const documents = recordsOfProcessing();
for (const name of readdirSync(recordsDir)) if (name.endsWith('.md') && !documents.has(name)) rmSync(join(recordsDir, name));
for (const [name, text] of documents) {
  writeFileSync(join(recordsDir, name), text);
  process.stdout.write(`${join(recordsDir, name)}\n`);
}
const matrixFile = join(recordsDir, '..', 'access-matrix.md');
writeFileSync(matrixFile, accessMatrixDocument());
process.stdout.write(`${matrixFile}\n`);
