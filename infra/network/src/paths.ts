import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const telemetryPreload = resolve(repoRoot, 'libs/telemetry/src/register.ts');
export const serviceMain = (service: string) => resolve(repoRoot, 'services', service, 'src/main.ts');
