import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from './x509.js';
import { KEY_ALGORITHM, SIGNING_ALGORITHM, ensureCa, issueLeafCertificate, leafProfile, validate, type DevDeployment } from './dev-pki.js';
import { createFileExclusive, isErrno, replaceFile } from './exclusive-file.js';

/**
 * Enrolment without handing anyone a private key made elsewhere (issue 11 item 4), in three steps
 * that may run on three machines:
 * 1. the deployment makes its key in its own folder and a CSR (`requestCertificate`);
 * 2. the network's CA checks the CSR (signature = proof the requester holds the key; the name it
 *    asks for) and issues the certificate with the network's profile (`signCertificateRequest`).
 *    The CA sees the CSR only — never a key;
 * 3. the deployment installs the certificate next to its key (`installCertificate`).
 *
 * Rotation is the same with `rotate`: the new key waits as `<id>.next.key` until its certificate
 * is installed, then key and certificate replace the old ones. Both certificates stay valid until
 * the old one expires or is revoked by fingerprint (`revoke(dir, { certificate })`): consumers
 * accept either signature, so events in flight or signed just before the switch still apply, and
 * the broker maps both to the same user (same subject).
 */

export interface CertificateRequest {
  /** PEM CSR, for the CA. */
  csr: string;
  /** Where the key was written (never sent anywhere). */
  keyPath: string;
}

export async function requestCertificate(dir: string, deployment: DevDeployment, options: { rotate?: boolean } = {}): Promise<CertificateRequest> {
  validate([deployment]);
  const keyPath = join(dir, options.rotate ? `${deployment.id}.next.key` : `${deployment.id}.key`);
  if (options.rotate) await unlink(keyPath).catch((error) => (isErrno(error, 'ENOENT') ? undefined : Promise.reject(error)));
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  if (!(await createFileExclusive(keyPath, x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), 0o600))) {
    throw new Error(`@lotse/pki: ${keyPath} exists: ${deployment.id} is enrolled already (rotate to replace its key)`);
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: leafProfile(deployment).subject,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  const pem = csr.toString('pem');
  await replaceFile(join(dir, `${deployment.id}.csr`), pem, 0o644);
  return { csr: pem, keyPath };
}

/** The CA's step: returns the certificate (PEM). `caDir` holds ca.key and ca.crt. */
export async function signCertificateRequest(caDir: string, csrPem: string, deployment: DevDeployment): Promise<string> {
  validate([deployment]);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw new Error('@lotse/pki: not a PEM certificate request', { cause: error });
  }
  if (!(await csr.verify())) throw new Error('@lotse/pki: the certificate request is not signed by its own key');
  const cn = csr.subjectName.getField('CN');
  if (cn.length !== 1 || cn[0] !== deployment.id) throw new Error(`@lotse/pki: the request is for ${cn.join(', ') || 'no name'}, not ${deployment.id}`);
  const publicKey = await csr.publicKey.export(KEY_ALGORITHM, ['verify']);
  const ca = await ensureCa(caDir);
  // The network's profile, whatever else the request asks for (SANs, usages): the CA decides.
  return issueLeafCertificate(ca, publicKey, leafProfile(deployment));
}

/**
 * The deployment's last step: checks the certificate is for the key in `dir` (the pending one when
 * rotating) and issued by `dir`'s CA, then makes it the deployment's. Returns the SHA-256
 * fingerprint of the certificate it replaced, if any (to revoke once the overlap is over).
 */
export async function installCertificate(dir: string, id: string, certificatePem: string): Promise<{ fingerprint: string; replaced?: string }> {
  const certificate = new X509Certificate(certificatePem);
  const ca = new X509Certificate(await readFile(join(dir, 'ca.crt')));
  if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) throw new Error(`@lotse/pki: the certificate is not issued by ${join(dir, 'ca.crt')}`);
  const keyPath = join(dir, `${id}.key`);
  const nextKeyPath = join(dir, `${id}.next.key`);
  const certPath = join(dir, `${id}.crt`);
  const pending = await readFile(nextKeyPath, 'utf8').catch((error) => (isErrno(error, 'ENOENT') ? undefined : Promise.reject(error)));
  const key = pending ?? (await readFile(keyPath, 'utf8'));
  if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new Error(`@lotse/pki: the certificate is not for the key in ${pending ? nextKeyPath : keyPath}`);
  const old = await readFile(certPath, 'utf8').catch((error) => (isErrno(error, 'ENOENT') ? undefined : Promise.reject(error)));
  const replaced = old ? new X509Certificate(old).fingerprint256 : undefined;
  // Certificate beside the new key first, then the key, then the certificate: a process that reads
  // both in between finds a pair that does not match and fails its start (the launcher restarts
  // it), never a certificate it cannot prove.
  await replaceFile(join(dir, `${id}.next.crt`), certificatePem, 0o644);
  if (pending) await rename(nextKeyPath, keyPath);
  await rename(join(dir, `${id}.next.crt`), certPath);
  return { fingerprint: certificate.fingerprint256, ...(replaced && replaced !== certificate.fingerprint256 && { replaced }) };
}
