export { agencyUri } from './agency-uri.js';
export { ensureDevPki, DEV_PKI_ORGANISATION, type DevDeployment } from './dev-pki.js';
export { loadIdentity, type TlsIdentity } from './identity.js';
export { agencyFromPeerCertificate, type PeerAgency } from './peer-certificate.js';
export { requestCertificate, signCertificateRequest, installCertificate, type CertificateRequest } from './enrol.js';
export { readRevocations, revoke, isRevoked, RevocationWatch, REVOCATION_FILE, type Revocations } from './revocation.js';
