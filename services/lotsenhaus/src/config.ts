import { fileURLToPath } from 'node:url';
import { retentionConfig, type RetentionConfig } from '@lotse/audit';
import { optionalString, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';

export interface LotsenhausConfig extends AgencyConfig {
  /** Cooperation agreements and partner directory (JSON); the Koblenz region by default. */
  directoryFile: string;
  /** RETENTION_INTERVAL_MS, RETENTION_POLICY_FILE; defaults when absent. */
  retention?: RetentionConfig;
}

export const defaultDirectoryFile = fileURLToPath(new URL('./directory/koblenz-region.json', import.meta.url));

export function toConfig(env: Env): LotsenhausConfig {
  return {
    ...agencyConfig(env, { agencyType: 'lotsenhaus', defaultId: 'lotsenhaus', defaultPort: 50052 }),
    directoryFile: optionalString(env, 'DIRECTORY_FILE', defaultDirectoryFile)!,
    retention: retentionConfig(env),
  };
}
