import { Metadata } from '@grpc/grpc-js';
import { ValidationError, type CallContext } from '@lotse/grpc';
import type { AuditActor } from './audit-log.js';

/** gRPC metadata naming the caseworker behind a call; optional, recorded in the audit log if present. */
export const CASEWORKER_HEADER = 'x-lotse-caseworker';

const caseworkerPattern = /^[A-Za-z0-9._@:+-]{1,128}$/;

export interface CallActor {
  actorAgencyId: string;
  actor: AuditActor;
  caseworkerId: string | null;
  /** The verified token's roles; null without a verified person. */
  actorRoles: string[] | null;
}

/** The caseworker id a call carries, checked (bad input is refused before anything is written). */
export function caseworkerOf(call: Pick<CallContext, 'metadata'>): string | null {
  const values = call.metadata?.get(CASEWORKER_HEADER) ?? [];
  if (values.length === 0) return null;
  const value = typeof values[0] === 'string' ? values[0].trim() : '';
  if (values.length > 1 || !caseworkerPattern.test(value)) {
    throw ValidationError.field(CASEWORKER_HEADER, 'must be one caseworker id of 1 to 128 letters, digits or . _ @ : + -');
  }
  return value;
}

/**
 * Who an audit entry names for a gRPC call: the agency from the certificate, and the person
 * from the verified access token (its pseudonymous staff id) where the deployment checks tokens.
 * Without one, the caseworker header as sent (deployments that do not sign people in yet).
 */
export function actorOfCall(call: Pick<CallContext, 'caller' | 'metadata' | 'person'>): CallActor {
  if (call.person) return { actorAgencyId: call.caller.agencyId, actor: 'caseworker', caseworkerId: call.person.sub, actorRoles: [...call.person.roles] };
  return { actorAgencyId: call.caller.agencyId, actor: 'caseworker', caseworkerId: caseworkerOf(call), actorRoles: null };
}

/** This agency's own software acting (consumers, scheduled jobs). */
export function systemActor(agencyId: string): CallActor {
  return { actorAgencyId: agencyId, actor: 'system', caseworkerId: null, actorRoles: null };
}

/** Metadata for a call to another agency that carries on the caseworker's request, so its audit log names them too. */
export function forwardCaseworker(call: Pick<CallContext, 'metadata' | 'person'>): Metadata {
  const metadata = new Metadata();
  const caseworker = call.person?.sub ?? caseworkerOf(call);
  if (caseworker) metadata.set(CASEWORKER_HEADER, caseworker);
  return metadata;
}
