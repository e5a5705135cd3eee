/**
 * The agency's identity as a URI SAN. CN/OU are what authorisation reads today; the URI carries
 * the same facts in a form SPIFFE-style tooling and proxies can match on without parsing a DN.
 */
export function agencyUri(agencyType: string, agencyId: string): string {
  return `urn:lotse:agency:${agencyType}:${agencyId}`;
}
