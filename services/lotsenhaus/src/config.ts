import { fileURLToPath } from 'node:url';
import { optionalString, type Env } from '@lotse/config';
import { agencyConfig, type AgencyConfig } from '@lotse/runtime';

export interface LotsenhausConfig extends AgencyConfig {
  /** Cooperation agreements and partner directory (JSON); the Koblenz region by default. */
  directoryFile: string;
}

export const defaultDirectoryFile = fileURLToPath(new URL('./directory/koblenz-region.json', import.meta.url));

export function toConfig(env: Env): LotsenhausConfig {
  return {
    ...agencyConfig(env, { agencyType: 'lotsenhaus', defaultId: 'lotsenhaus', defaultPort: 50052 }),
    directoryFile: optionalString(env, 'DIRECTORY_FILE', defaultDirectoryFile)!,
  };
}
