import type { Role } from '@lotse/identity';

/** Who asks the console to change a deployment's state, as the deployment and the console's own records get it. */
export interface Actor {
  /** What goes into both audit trails as the operator's name: the staff id when signed in, never a real name. */
  name: string;
  /** The verified staff id (`sub`), or null with the operator token (no person behind it). */
  sub: string | null;
  roles: Role[];
  /** The person's access token, forwarded as `authorization: Bearer …`. */
  accessToken?: string;
}
