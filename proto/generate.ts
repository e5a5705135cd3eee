// Regenerates the TypeScript contracts from the .proto files: `pnpm gen`.
// With an argument, writes below that folder instead (the staleness test compares the two).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const generatedDir = 'libs/contracts/src/gen';

export function generate(outBase = repoRoot): void {
  rmSync(join(outBase, generatedDir), { recursive: true, force: true });
  execFileSync(join(repoRoot, 'node_modules/.bin/buf'), ['generate', 'proto', '--template', 'proto/buf.gen.yaml', '-o', outBase], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  generate(process.argv[2] ? resolve(process.argv[2]) : repoRoot);
}
