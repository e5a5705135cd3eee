import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isErrno } from './exclusive-file.js';

/** What a deployment needs for mutual TLS: the network's CA and its own certificate and key. */
export interface TlsIdentity {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the files `ensureDevPki` (or an operator) put in `dir`. Synchronous because it runs once
 * at start-up, before any server or client exists.
 */
export function loadIdentity(dir: string, id: string): TlsIdentity {
  return {
    ca: readRequired(join(dir, 'ca.crt')),
    cert: readRequired(join(dir, `${id}.crt`)),
    key: readRequired(join(dir, `${id}.key`)),
  };
}

function readRequired(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) {
      throw new Error(`@lotse/pki: missing ${path} — create the development PKI first (ensureDevPki) or mount the deployment's certificate there`);
    }
    throw new Error(`@lotse/pki: cannot read ${path}`, { cause: error });
  }
}
