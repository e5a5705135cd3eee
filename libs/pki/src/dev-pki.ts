import { createPrivateKey, createPublicKey, X509Certificate as NodeCertificate, type KeyObject, type webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from './x509.js';
import { createFileExclusive, isErrno, replaceFile } from './exclusive-file.js';
import { agencyUri } from './agency-uri.js';

/** One agency deployment that gets its own certificate. */
export interface DevDeployment {
  id: string;
  agencyType: string;
  /** Extra DNS names the deployment is reached by (e.g. its docker-compose service name). */
  hostnames?: string[];
}

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** The subject's O of every certificate the development CA issues (the broker maps users by the whole subject). */
export const DEV_PKI_ORGANISATION = 'Lotse dev network';
const ORGANISATION = DEV_PKI_ORGANISATION;
const DAY_MS = 86_400_000;
const CA_LIFETIME_DAYS = 3652;
const LEAF_LIFETIME_DAYS = 730;
// Leaves are cheap to reissue, so a certificate this close to expiry is replaced on start rather
// than letting the network fail at some random moment later.
const LEAF_RENEW_BEFORE_DAYS = 30;
// Backdated so that processes (or containers) whose clocks differ a little accept a fresh cert.
const CLOCK_SKEW_MS = 5 * 60_000;
// One DNS name: it ends up in file names, the SAN, the subject and the agency URN, so it must not
// contain separators for any of them ('/', ',', ':', '=' …).
const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export interface KeyMaterial {
  object: KeyObject;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

export interface Ca {
  key: KeyMaterial;
  certificate: NodeCertificate;
  subject: x509.Name;
}

/**
 * Creates the development CA and one certificate per deployment in `dir`, keeping whatever is
 * already there. Safe when several processes of the network start at once: every file appears
 * atomically, the first writer wins, and everyone continues with what is on disk.
 *
 * A leaf is reissued (same key) when it no longer matches: signed by another CA, near expiry, or
 * with other names than the deployment now asks for. The CA itself is never replaced silently —
 * that would invalidate the certificates of every other running process.
 */
export async function ensureDevPki(dir: string, deployments: readonly DevDeployment[]): Promise<void> {
  validate(deployments);
  // Keys live here, so the folder is private to the user when we create it.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(dir);
  for (const deployment of deployments) await ensureLeaf(dir, ca, deployment);
}

export function validate(deployments: readonly DevDeployment[]): void {
  const seen = new Set<string>();
  for (const { id, agencyType, hostnames = [] } of deployments) {
    if (!NAME_PATTERN.test(id)) throw new Error(`@lotse/pki: deployment id "${id}" must be a DNS name (letters, digits, '-', '.')`);
    if (id.toLowerCase() === 'ca') throw new Error('@lotse/pki: deployment id "ca" is reserved for the CA files');
    if (!NAME_PATTERN.test(agencyType)) throw new Error(`@lotse/pki: agencyType "${agencyType}" of ${id} must be a DNS name (letters, digits, '-', '.')`);
    for (const hostname of hostnames) {
      if (!NAME_PATTERN.test(hostname)) throw new Error(`@lotse/pki: hostname "${hostname}" of ${id} is not a DNS name`);
    }
    if (seen.has(id)) throw new Error(`@lotse/pki: deployment id "${id}" is listed twice`);
    seen.add(id);
  }
}

export async function ensureCa(dir: string): Promise<Ca> {
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.crt');
  // The key comes first and is never replaced, so any ca.crt on disk was made from the ca.key on
  // disk — even when two processes race, they just produce two certificates for the same key and
  // only one of them lands.
  const key = await ensureKey(keyPath);
  let pem = await readIfExists(certPath);
  if (pem === undefined) {
    await createFileExclusive(certPath, await issueCaCertificate(key), 0o644);
    pem = await readFile(certPath, 'utf8');
  }
  const certificate = parseCertificate(certPath, pem);
  if (!certificate.ca || !certificate.checkPrivateKey(key.object)) {
    throw new Error(`@lotse/pki: ${certPath} does not belong to ${keyPath}; delete both and every <id>.crt in ${dir} to start a new development CA`);
  }
  return { key, certificate, subject: new x509.X509Certificate(pem).subjectName };
}

async function ensureLeaf(dir: string, ca: Ca, deployment: DevDeployment): Promise<void> {
  const certPath = join(dir, `${deployment.id}.crt`);
  const key = await ensureKey(join(dir, `${deployment.id}.key`));
  const profile = leafProfile(deployment);
  const pem = await readIfExists(certPath);
  if (pem === undefined) {
    await createFileExclusive(certPath, await issueLeafCertificate(ca, key.publicKey, profile), 0o644);
  } else if (!isCurrent(pem, ca, key, profile)) {
    // Replacing is fine even if another process does the same: both results carry the same key
    // and CA, so whichever lands last is as good as the other.
    await replaceFile(certPath, await issueLeafCertificate(ca, key.publicKey, profile), 0o644);
  }
}

export interface LeafProfile {
  subject: x509.Name;
  subjectAltName: x509.SubjectAlternativeNameExtension;
}

export function leafProfile({ id, agencyType, hostnames = [] }: DevDeployment): LeafProfile {
  const dnsNames = [...new Set(['localhost', id, ...hostnames])];
  return {
    // Most significant first in DER, so the usual one-line form reads CN=<id>, OU=<type>, O=….
    subject: new x509.Name([{ O: [ORGANISATION] }, { OU: [agencyType] }, { CN: [id] }]),
    subjectAltName: new x509.SubjectAlternativeNameExtension([
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'url', value: agencyUri(agencyType, id) },
    ]),
  };
}

function isCurrent(pem: string, ca: Ca, key: KeyMaterial, profile: LeafProfile): boolean {
  try {
    const certificate = new NodeCertificate(pem);
    if (!certificate.checkIssued(ca.certificate) || !certificate.verify(ca.certificate.publicKey)) return false;
    if (!certificate.checkPrivateKey(key.object)) return false;
    if (Date.parse(certificate.validTo) - Date.now() < LEAF_RENEW_BEFORE_DAYS * DAY_MS) return false;
    const parsed = new x509.X509Certificate(pem);
    const subjectAltName = parsed.getExtension(x509.SubjectAlternativeNameExtension);
    return (
      parsed.subject === profile.subject.toString() &&
      subjectAltName !== null &&
      Buffer.from(subjectAltName.value).equals(Buffer.from(profile.subjectAltName.value))
    );
  } catch {
    // Unreadable counts as outdated: reissuing is always safe for a leaf.
    return false;
  }
}

async function issueCaCertificate(key: KeyMaterial): Promise<string> {
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ O: [ORGANISATION] }, { CN: ['Lotse development CA'] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_LIFETIME_DAYS * DAY_MS),
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // pathLength 0: this CA signs agency certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(key.publicKey),
    ],
  });
  return certificate.toString('pem');
}

export async function issueLeafCertificate(ca: Ca, publicKey: webcrypto.CryptoKey, profile: LeafProfile): Promise<string> {
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: profile.subject,
    // The CA's subject exactly as encoded in ca.crt, so OpenSSL's issuer lookup matches byte for byte.
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + LEAF_LIFETIME_DAYS * DAY_MS),
    publicKey,
    signingKey: ca.key.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // Every deployment is a gRPC server and a client of the others, so one cert serves both ends.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      profile.subjectAltName,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.key.publicKey),
    ],
  });
  return certificate.toString('pem');
}

async function ensureKey(path: string): Promise<KeyMaterial> {
  let pem = await readIfExists(path);
  if (pem === undefined) {
    const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
    await createFileExclusive(path, x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), 0o600);
    // Whoever won a race, the key on disk is the one everybody uses.
    pem = await readFile(path, 'utf8');
  }
  return importKey(path, pem);
}

export async function importKey(path: string, pem: string): Promise<KeyMaterial> {
  let object: KeyObject;
  try {
    object = createPrivateKey(pem);
  } catch (error) {
    throw new Error(`@lotse/pki: ${path} is not a PEM private key`, { cause: error });
  }
  if (object.asymmetricKeyType !== 'ec' || object.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`@lotse/pki: ${path} is not an ECDSA P-256 key`);
  }
  const pkcs8 = object.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(object).export({ format: 'der', type: 'spki' });
  return {
    object,
    privateKey: await crypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']),
    publicKey: await crypto.subtle.importKey('spki', spki, KEY_ALGORITHM, true, ['verify']),
  };
}

function parseCertificate(path: string, pem: string): NodeCertificate {
  try {
    return new NodeCertificate(pem);
  } catch (error) {
    throw new Error(`@lotse/pki: ${path} is not a PEM certificate`, { cause: error });
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}
