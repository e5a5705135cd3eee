import { X509Certificate, createPrivateKey, sign, verify } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno, replaceFile } from './exclusive-file.js';

/**
 * The network's revocation list: `<pki>/revoked.json`, signed by the CA's key, so a deployment
 * that can write into a shared folder still cannot un-revoke itself or revoke another. Two kinds:
 * - a deployment (by id): all its certificates — gRPC calls, NATS connections (its user leaves the
 *   generated broker config) and event signatures are refused;
 * - one certificate (by SHA-256 fingerprint), e.g. the old one after a rotation: its signatures
 *   and gRPC calls are refused; NATS maps users by subject DN only (nats-server 2.9 has no CRL
 *   check), so at the broker a certificate-level revocation is as strong as the CA's validity.
 *
 * X.509 CRLs would say the same, but neither nats-server 2.9 nor the signature check reads them,
 * and a JSON list is what the broker config generator and the consumers need.
 */
export const REVOCATION_FILE = 'revoked.json';

export interface Revocations {
  /** Deployment id → when it was revoked (ISO). */
  deployments: Record<string, string>;
  /** Certificate SHA-256 fingerprint (AA:BB:…, as Node prints it) → when it was revoked (ISO). */
  certificates: Record<string, string>;
}

interface SignedRevocations {
  revocations: Revocations;
  /** base64 ECDSA-SHA256 by the CA key over JSON.stringify(revocations). */
  signature: string;
}

const empty = (): Revocations => ({ deployments: {}, certificates: {} });

/** Reads and checks the list (CA signature); no file is an empty list. */
export function readRevocations(dir: string): Revocations {
  let text: string;
  try {
    text = readFileSync(join(dir, REVOCATION_FILE), 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return empty();
    throw error;
  }
  const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
  let parsed: SignedRevocations;
  try {
    parsed = JSON.parse(text) as SignedRevocations;
  } catch (error) {
    throw new Error(`@lotse/pki: ${REVOCATION_FILE} is not JSON`, { cause: error });
  }
  const body = Buffer.from(JSON.stringify(parsed.revocations ?? null));
  if (typeof parsed.signature !== 'string' || !verify('sha256', body, ca.publicKey, Buffer.from(parsed.signature, 'base64'))) {
    throw new Error(`@lotse/pki: ${REVOCATION_FILE} is not signed by the network's CA`);
  }
  return { deployments: { ...parsed.revocations.deployments }, certificates: { ...parsed.revocations.certificates } };
}

/** Adds to the list (the CA's folder: needs ca.key) and writes it atomically; returns the new list. */
export async function revoke(dir: string, what: { deployment?: string; certificate?: string }, now = new Date()): Promise<Revocations> {
  const revocations = readRevocations(dir);
  if (what.deployment) revocations.deployments[what.deployment] ??= now.toISOString();
  if (what.certificate) revocations.certificates[what.certificate.toUpperCase()] ??= now.toISOString();
  const key = createPrivateKey(await readFile(join(dir, 'ca.key')));
  const signature = sign('sha256', Buffer.from(JSON.stringify(revocations)), key).toString('base64');
  await replaceFile(join(dir, REVOCATION_FILE), `${JSON.stringify({ revocations, signature } satisfies SignedRevocations, null, 2)}\n`, 0o644);
  return revocations;
}

export function isRevoked(revocations: Revocations, signer: { deploymentId?: string; fingerprint?: string }): boolean {
  return (
    (signer.deploymentId !== undefined && Object.hasOwn(revocations.deployments, signer.deploymentId)) ||
    (signer.fingerprint !== undefined && Object.hasOwn(revocations.certificates, signer.fingerprint.toUpperCase()))
  );
}

/**
 * The list as a running process sees it: read at start, looked at again every `intervalMs`
 * (default 5 s, well inside the 30 s the network promises) and re-read when the file changed. A
 * list that fails its check keeps the last good one and is reported; it never empties the list.
 */
export class RevocationWatch {
  private current: Revocations;
  private version = '';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly dir: string,
    private readonly options: { intervalMs?: number; onError?: (error: unknown) => void; onChange?: (list: Revocations) => void } = {},
  ) {
    this.current = empty();
    this.refresh(options.onError, true);
    this.timer = setInterval(() => this.refresh(options.onError, false), options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  /** For the signature check and the gRPC edge: synchronous, from the last good list. */
  readonly isRevoked = (signer: { deploymentId?: string; fingerprint?: string }): boolean => isRevoked(this.current, signer);

  list(): Revocations {
    return this.current;
  }

  /** Reads the file now if it changed (also what the timer does). */
  refresh(onError?: (error: unknown) => void, throwOnError = false): void {
    try {
      // The file is replaced by rename, so a new list is a new inode even within one mtime tick.
      let version = 'none';
      try {
        const stat = statSync(join(this.dir, REVOCATION_FILE));
        version = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
      if (version === this.version) return;
      const first = this.version === '';
      this.current = readRevocations(this.dir);
      this.version = version;
      if (!first) this.options.onChange?.(this.current);
    } catch (error) {
      if (throwOnError) throw error;
      onError?.(error);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
