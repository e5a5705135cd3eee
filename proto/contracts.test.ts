import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, generatedDir, repoRoot } from './generate.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('contracts', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'lotse-gen-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('pass buf lint', () => {
    execFileSync(join(repoRoot, 'node_modules/.bin/buf'), ['lint', 'proto'], { cwd: repoRoot, stdio: 'pipe' });
  });

  it('match the generated code in the repo (run `pnpm gen` after changing a .proto)', () => {
    generate(scratch);
    const fresh = join(scratch, generatedDir);
    const committed = join(repoRoot, generatedDir);
    const list = (dir: string) => files(dir).map((f) => relative(dir, f)).sort();
    expect(list(committed)).toEqual(list(fresh));
    for (const file of list(fresh)) {
      expect(readFileSync(join(committed, file), 'utf8'), `${file} is stale`).toBe(readFileSync(join(fresh, file), 'utf8'));
    }
  }, 60_000);
});
