import type { Actor } from '../operator/actor.js';
import { requireOperator, type ConsoleAuth } from './auth.js';
import { HttpError, type Request } from './http-server.js';

export type { Actor };

/** Replay and discard (and any later action that changes a deployment) ask this first. */
export interface OperatorAccess {
  readonly signIn: boolean;
  /** The actor, or 401 (nobody known) / 403 (known, but may not act). */
  actor(req: Request): Actor;
  /** With the operator token the page sends a typed name; signed in, the staff id is the name and the typed one is ignored. */
  named(actor: Actor, typedName: unknown): Actor;
}

/** Without an issuer: whoever holds the console's operator token, under the name they type. */
export function tokenAccess(auth: ConsoleAuth): OperatorAccess {
  return {
    signIn: false,
    actor(req) {
      requireOperator(auth, req);
      return { name: '', sub: null, roles: [] };
    },
    named: (actor, typedName) => ({ ...actor, name: typeof typedName === 'string' ? typedName : '' }),
  };
}

/** With an issuer: the signed-in person, and only if they hold the operator role (an auditor may look, not act). */
export function signInAccess(): OperatorAccess {
  return {
    signIn: true,
    actor(req) {
      const session = req.session;
      if (!session) throw new HttpError(401, 'sign in first: /auth/login', 'UNAUTHENTICATED');
      const { person } = session;
      if (!person.roles.includes('operator')) {
        throw new HttpError(403, `replay and discard need the operator role; you are signed in with ${person.roles.join(', ') || 'no role'}`, 'PERMISSION_DENIED');
      }
      return { name: person.sub, sub: person.sub, roles: person.roles, accessToken: session.accessToken };
    },
    named: (actor) => actor,
  };
}
