import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { TlsIdentity } from '@lotse/grpc';

/** How a call with raw bytes ended: its status, and the size of the trailers that carried it. */
export interface RawOutcome {
  code: status;
  details: string;
  trailerBytes: number;
  error?: ServiceError;
}

/**
 * A client that sends any bytes as a request — what a hostile or broken client can do and the
 * generated clients cannot (they only encode valid messages). Presents a certificate (mTLS).
 */
export function rawClient(address: string, identity: TlsIdentity) {
  const client = new Client(address, credentials.createSsl(identity.ca, identity.key, identity.cert));
  const identityBytes = (b: Buffer) => b;
  const trailerSize = (metadata: Metadata | undefined) =>
    Object.entries(metadata?.getMap() ?? {}).reduce((n, [k, v]) => n + k.length + (typeof v === 'string' ? v.length : Math.ceil((v.length * 4) / 3)), 0);
  return {
    unary(path: string, bytes: Uint8Array, deadlineMs = 10_000): Promise<RawOutcome> {
      return new Promise((resolve) => {
        client.makeUnaryRequest(path, identityBytes, identityBytes, Buffer.from(bytes), new Metadata(), { deadline: Date.now() + deadlineMs }, (error) => {
          if (!error) return resolve({ code: status.OK, details: '', trailerBytes: 0 });
          resolve({ code: error.code, details: error.details, trailerBytes: trailerSize(error.metadata) + Buffer.byteLength(error.details), error });
        });
      });
    },
    /** A server-streaming call: the status it ends with, or OK once it has sent a first message. */
    stream(path: string, bytes: Uint8Array, deadlineMs = 10_000): Promise<RawOutcome> {
      return new Promise((resolve) => {
        const call = client.makeServerStreamRequest(path, identityBytes, identityBytes, Buffer.from(bytes), new Metadata(), { deadline: Date.now() + deadlineMs });
        let settled = false;
        const settle = (outcome: RawOutcome) => {
          if (settled) return;
          settled = true;
          resolve(outcome);
          call.cancel();
        };
        call.on('data', () => settle({ code: status.OK, details: '', trailerBytes: 0 }));
        call.on('error', (error: ServiceError) =>
          settle({ code: error.code, details: error.details, trailerBytes: trailerSize(error.metadata) + Buffer.byteLength(error.details), error }),
        );
        call.on('status', (s) => settle({ code: s.code, details: s.details, trailerBytes: trailerSize(s.metadata) }));
        // A watch that is accepted and has nothing to send yet keeps the stream open: that is fine.
        setTimeout(() => settle({ code: status.OK, details: 'open', trailerBytes: 0 }), Math.min(deadlineMs, 100));
      });
    },
    close: () => client.close(),
  };
}
