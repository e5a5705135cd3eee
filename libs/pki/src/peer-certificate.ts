import type { PeerCertificate } from 'node:tls';

/** The calling agency as its certificate names it. */
export interface PeerAgency {
  agencyId: string;
  agencyType: string;
}

/**
 * Who is calling, from the subject of a certificate TLS has already verified against the CA
 * (CN = deployment id, OU = agency type). Returns undefined when there is no certificate — grpc-js
 * then hands over undefined or an empty object — or when a field is missing or repeated: a subject
 * with two CNs is ambiguous, and authorisation must not guess.
 */
export function agencyFromPeerCertificate(cert: PeerCertificate | undefined): PeerAgency | undefined {
  const subject = cert?.subject;
  if (!subject) return undefined;
  const agencyId = single(subject.CN);
  const agencyType = single(subject.OU);
  return agencyId && agencyType ? { agencyId, agencyType } : undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
