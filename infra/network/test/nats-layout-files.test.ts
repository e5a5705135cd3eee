// The cluster and leaf configurations compose and Kubernetes use are what `pnpm nats-layout`
// renders today, and each loads on this nats-server (certificate and store paths pointed at a
// real PKI, so that -t can open them: nats-config-check.ts, also `pnpm nats-config --check`).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLayoutFile, demoCheckPki } from '../src/nats-config-check.js';
import { layoutFiles } from '../src/nats-layout-files.js';
import { repoRoot } from '../src/paths.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lotse-nats-layout-'));
  await demoCheckPki(join(dir, 'pki'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the rendered NATS layout files', () => {
  const files = [...layoutFiles()];

  it.each(files.map(([path]) => path))('%s is what `pnpm nats-layout` renders (run it after changing deployments or flows)', (path) => {
    expect(readFileSync(join(repoRoot, path), 'utf8')).toBe(new Map(files).get(path));
  });

  // The same check as `pnpm nats-config --check` (certificate and store paths pointed at a real PKI).
  it.each(files.map(([path]) => path))('%s loads on this nats-server', (path) => {
    expect(checkLayoutFile(path, new Map(files).get(path)!, { workDir: dir, pkiDir: join(dir, 'pki') })).toBeUndefined();
  });
});
