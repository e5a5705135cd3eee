// The network's TLS identity of a deployment or client: the CA, its certificate and key.
import { readFileSync } from 'node:fs';

export interface TlsIdentity {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads the PEM files of one identity; used by services' composition roots. */
export function readTlsIdentity(files: { ca: string; cert: string; key: string }): TlsIdentity {
  return { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) };
}
