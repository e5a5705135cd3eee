import type { Metadata } from '@grpc/grpc-js';
import { personRequirement, type AccessMatrix, type Caller } from '@lotse/flows';
import { PermissionDeniedError, UnauthenticatedError, type CallPerson } from '@lotse/grpc';
import { createPersonTokenVerifier, PersonTokenError } from '@lotse/identity';

/**
 * The `authenticate` hook of a deployment's gRPC server: the person a call acts for, from the
 * access token in its `authorization` metadata, checked against the roles the authorisation
 * matrix names for the RPC. Calls the matrix lets a deployment make as software go through
 * without a person; a token they send anyway is verified all the same — including its binding
 * to the call's client certificate (RFC 8705), so a token replayed over another certificate fails.
 */
export function personAuthentication(oidc: { issuer: string; audience: string; certificateBoundTokens?: 'required' | 'optional' }, self: Caller, matrix: AccessMatrix) {
  const verifier = createPersonTokenVerifier({ issuer: oidc.issuer, audience: oidc.audience, certificateBound: oidc.certificateBoundTokens ?? 'optional' });
  return async (method: string, caller: Caller, metadata: Metadata, certificate: Buffer | undefined): Promise<CallPerson | undefined> => {
    const need = personRequirement(method, caller, self, matrix);
    const header = metadata.get('authorization');
    if (header.length > 1) throw new UnauthenticatedError('send one authorization header, not several');
    const authorization = typeof header[0] === 'string' ? header[0] : undefined;
    if (!need || (!need.required && authorization === undefined)) return undefined;
    let person;
    try {
      person = await verifier.verify(authorization, caller.agencyId, certificate);
    } catch (error) {
      if (!(error instanceof PersonTokenError)) throw error;
      if (error.kind === 'wrong-agency') throw new PermissionDeniedError(error.message);
      throw new UnauthenticatedError(error.message);
    }
    if (!person.roles.some((r) => need.roles.includes(r))) {
      throw new PermissionDeniedError(`${method.replace(/^\//, '')} needs the role ${need.roles.join(' or ')}; the signed-in person has ${person.roles.join(', ') || 'no role'}`);
    }
    return { sub: person.sub, roles: person.roles };
  };
}
