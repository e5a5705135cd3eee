import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEntries, stopBuilding } from '../src/build.js';
import { repoRoot, telemetryPreload } from '../src/paths.js';

const outDir = mkdtempSync(join(tmpdir(), 'lotse-build-test-'));
afterAll(async () => {
  await stopBuilding();
  rmSync(outDir, { recursive: true, force: true });
});

describe('the bundles pnpm start runs', () => {
  it('keep the source location for import.meta.url and import third-party packages from where Node resolves them', async () => {
    const built = await buildEntries({ paths: resolve(repoRoot, 'infra/network/src/paths.ts'), telemetry: telemetryPreload }, outDir);
    // paths.ts finds the repository from its own address: in the bundle it must still be the source's.
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(built.paths)}); console.log(m.repoRoot)`], { encoding: 'utf8' });
    expect(printed.trim()).toBe(repoRoot);
    const bundle = readFileSync(built.telemetry!, 'utf8');
    expect(bundle).toMatch(/from "file:\/\/[^"]*node_modules\/\.pnpm\/@opentelemetry\+api@[^"]*"/);
    expect(bundle).not.toMatch(/from "@opentelemetry\//);
    // The preload starts the SDK in a plain node, without tsx, and the process ends normally.
    execFileSync(process.execPath, ['--import', built.telemetry!, '-e', 'setTimeout(() => {}, 10)'], { env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_SERVICE_NAME: 'build-test' } });
  });
});
