import { createLogger, type Logger } from '@lotse/logger';

/** Used when a caller passes no logger of its own (scripts, tests). */
export const defaultLogger: Logger = createLogger('messaging');
