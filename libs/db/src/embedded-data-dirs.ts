import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const isInitialised = (dataDir: string) => existsSync(join(dataDir, 'PG_VERSION'));

/** initdb for one embedded database, in a short-lived process (see pglite-initdb.mjs). */
export async function initdb(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  await promisify(execFile)(process.execPath, [fileURLToPath(new URL('./pglite-initdb.mjs', import.meta.url)), dataDir]);
}

/**
 * Creates the embedded databases that do not exist yet from one initdb: a fresh cluster is the
 * same for every deployment, and eight initdb runs side by side on a two-core machine made the
 * first start of the network take minutes. Each copy lands under a temporary name and is renamed
 * into place, so an interrupted start never leaves a half-copied database behind.
 */
export async function createEmbeddedDatabases(dataDirs: readonly string[]): Promise<void> {
  const missing = dataDirs.filter((d) => !isInitialised(d));
  if (missing.length === 0) return;
  const parent = dirname(missing[0]!);
  mkdirSync(parent, { recursive: true });
  const template = mkdtempSync(join(parent, '.initdb-'));
  try {
    await initdb(template);
    for (const dataDir of missing) {
      const staging = `${dataDir}.creating`;
      rmSync(staging, { recursive: true, force: true });
      cpSync(template, staging, { recursive: true });
      // An empty folder (made by hand or by an earlier, interrupted start) gives way to the copy.
      if (existsSync(dataDir) && readdirSync(dataDir).length === 0) rmSync(dataDir, { recursive: true });
      if (existsSync(dataDir)) throw new Error(`${dataDir} exists but holds no database (no PG_VERSION); move it away to start afresh`);
      renameSync(staging, dataDir);
    }
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
}
