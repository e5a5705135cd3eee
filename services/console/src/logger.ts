import { createLogger, type Logger } from '@lotse/logger';

export type { Logger };

export function consoleLogger(id: string, level: string): Logger {
  return createLogger(id, { level });
}
