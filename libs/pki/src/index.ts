export { agencyUri } from './agency-uri.js';
export { ensureDevPki, type DevDeployment } from './dev-pki.js';
export { loadIdentity, type TlsIdentity } from './identity.js';
export { agencyFromPeerCertificate, type PeerAgency } from './peer-certificate.js';
