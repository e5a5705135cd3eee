import { loadConfigOrExit } from '@lotse/config';
import { runUntilSignal } from '@lotse/runtime';
import { create, toConfig } from './index.js';

await runUntilSignal(create(loadConfigOrExit(toConfig)));
