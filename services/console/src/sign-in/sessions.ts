import { randomBytes } from 'node:crypto';
import type { Role } from '@lotse/identity';

/** Who is signed in at the console, as the issuer's verified tokens say. */
export interface SignedInPerson {
  /** The pseudonymous staff id; it, not the name, goes into audit records. */
  sub: string;
  agencyId: string;
  roles: Role[];
  /** From the ID token, for the page's header only: never logged, never sent to a deployment. */
  username?: string;
  displayName?: string;
}

export interface ConsoleSession {
  id: string;
  person: SignedInPerson;
  /** Forwarded to deployments on the person's own actions (`authorization: Bearer …`). */
  accessToken: string;
  idToken?: string;
  /** Epoch ms: the access token's expiry. The session ends with it. */
  expiresAt: number;
}

/** A sign-in the browser started and has not finished: what the callback must check. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** A path of this console to go back to. */
  returnTo: string;
  startedAt: number;
}

const newId = () => randomBytes(32).toString('base64url');

/**
 * Sessions in the console's memory, keyed by a random id that is all the browser's cookie holds:
 * the tokens never reach the page, a restart signs everyone out, and a session ends when its
 * access token expires. Both maps are bounded, so a flood of started sign-ins cannot fill memory.
 */
export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly pending = new Map<string, PendingSignIn>();

  constructor(
    private readonly now: () => number,
    private readonly limits = { sessions: 10_000, pending: 10_000, pendingTtlMs: 10 * 60_000 },
  ) {}

  /** Starts a sign-in; the id goes into the browser's short-lived sign-in cookie. */
  begin(flow: Omit<PendingSignIn, 'startedAt'>): string {
    this.sweep();
    evictOldest(this.pending, this.limits.pending);
    const id = newId();
    this.pending.set(id, { ...flow, startedAt: this.now() });
    return id;
  }

  /** The pending sign-in of this browser, used once. */
  take(id: string | undefined): PendingSignIn | undefined {
    if (!id) return undefined;
    const flow = this.pending.get(id);
    this.pending.delete(id);
    if (!flow || this.now() - flow.startedAt > this.limits.pendingTtlMs) return undefined;
    return flow;
  }

  create(session: Omit<ConsoleSession, 'id'>): ConsoleSession {
    this.sweep();
    evictOldest(this.sessions, this.limits.sessions);
    const created = { ...session, id: newId() };
    this.sessions.set(created.id, created);
    return created;
  }

  /** The live session of this id; an expired one is gone. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string | undefined): ConsoleSession | undefined {
    const session = id ? this.sessions.get(id) : undefined;
    if (id) this.sessions.delete(id);
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    for (const [id, p] of this.pending) if (now - p.startedAt > this.limits.pendingTtlMs) this.pending.delete(id);
  }
}

/** Maps keep insertion order: the first key is the oldest. */
function evictOldest<V>(map: Map<string, V>, limit: number): void {
  while (map.size >= limit) map.delete(map.keys().next().value!);
}
