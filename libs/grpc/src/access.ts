import { PermissionDeniedError } from './errors.js';
import type { CallContext } from './call-context.js';

/**
 * Caseworker calls come from the agency's own deployment certificate: any other agency, even
 * one with a valid certificate of the network, is refused before anything is read.
 */
export function requireOwnCaseworker(ctx: CallContext, agencyId: string): void {
  if (ctx.caller.agencyId !== agencyId) {
    throw new PermissionDeniedError(`only ${agencyId}'s own caseworkers may call ${ctx.method}; caller is ${ctx.caller.agencyId}`);
  }
}
