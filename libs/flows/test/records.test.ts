// The records of processing (Art. 30 GDPR) in docs/ are generated from the flow table: they must be
// up to date (run `pnpm records`) and list every flow for each agency type it involves.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flowTable, legalBasisText, recordsDir, recordsOfProcessing } from '../src/index.js';

const table = flowTable();
const documents = recordsOfProcessing(table);

describe('records of processing (docs/records-of-processing)', () => {
  it('are up to date with policy/flows.yaml (run `pnpm records`)', () => {
    expect(readdirSync(recordsDir).filter((f) => f.endsWith('.md')).sort()).toEqual([...documents.keys()].sort());
    for (const [name, text] of documents) {
      const path = join(recordsDir, name);
      expect(existsSync(path), `${name} is missing`).toBe(true);
      expect(readFileSync(path, 'utf8'), `${name} is stale: run pnpm records`).toBe(text);
    }
  });

  it('list every flow, with its legal basis, in the document of each agency type it involves', () => {
    for (const flow of table.flows) {
      for (const type of new Set([...flow.senders, ...flow.recipients])) {
        const text = documents.get(`${type}.md`)!;
        expect(text, `${flow.id} in ${type}.md`).toContain(`### \`${flow.id}\``);
        expect(text).toContain(legalBasisText(flow.legalBasis));
      }
    }
  });

  it('read as a record of processing: controller, data subjects, purposes, recipients, measures', () => {
    const fo = documents.get('foreign-office.md')!;
    for (const heading of ['# Records of processing activities', 'Controller', 'Data subjects', '## Purposes and legal bases', '## Disclosed to other agencies', '## Technical and organisational measures']) {
      expect(fo).toContain(heading);
    }
    expect(fo).toContain('§ 86 AufenthG');
    // The disclosure to providers says which relation to the case it requires.
    expect(fo).toMatch(/### `fo-provider-disclose`[\s\S]*?- \*\*Requires:\*\* a referral of the case for this purpose is with the recipient deployment/);
  });
});
