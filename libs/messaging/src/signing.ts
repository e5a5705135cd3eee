import { X509Certificate, createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { Envelope } from './apply-once.js';

/**
 * Events are signed by the deployment that produced them, with the key of its certificate from the
 * network's CA (ECDSA P-256, what libs/pki issues), so a consumer knows who told it what even though
 * the broker is shared ground: a client with valid broker credentials can only publish on its own
 * subjects, and a signature by the wrong deployment, none, or one over other bytes is refused
 * before any handler runs.
 *
 * On the wire the signature travels in two headers, next to the envelope bytes it covers, so the
 * envelope (and everything that decodes it: consumers, the console, parked-message replay) is
 * unchanged:
 * - `Lotse-Signature`: base64 of the DER ECDSA-SHA256 signature over `signedBytes(subject, data)`;
 * - `Lotse-Signer`: base64 of the signer's DER certificate, checked against the network's CA.
 * The subject is signed too, so a signed event cannot be replayed under another subject. The
 * Nats-Msg-Id is not (a resend `<event id>~<n>` carries the same signed bytes).
 */
export const SIGNATURE_HEADER = 'Lotse-Signature';
export const SIGNER_HEADER = 'Lotse-Signer';
const DOMAIN = Buffer.from('lotse-event-signature-v1\n');

export function signedBytes(subject: string, data: Uint8Array): Buffer {
  return Buffer.concat([DOMAIN, Buffer.from(subject, 'utf8'), Buffer.from([0x0a]), data]);
}

/** A verified signature: who signed, and what a recipient keeps to prove it later. */
export interface EventSignature {
  /** The certificate's CN: the signing deployment. */
  deploymentId: string;
  /** The certificate's OU: its agency type. */
  agencyType: string;
  /** SHA-256 fingerprint of the signer's certificate (as Node prints it, AA:BB:…). */
  fingerprint: string;
  /** Base64 DER signature, as it arrived. */
  signature: string;
  /** Base64 DER certificate, as it arrived. */
  certificate: string;
}

/** The reason an event is refused: it is parked with `signature: <reason>`, never retried. */
export class SignatureError extends Error {
  constructor(readonly reason: string) {
    super(`signature: ${reason}`);
    this.name = 'SignatureError';
  }
}

/** Signs what a deployment publishes, with its certificate's key. */
export class EventSigner {
  private readonly key: KeyObject;
  private readonly certificateHeader: string;
  readonly deploymentId: string;

  constructor(identity: { cert: Buffer | string; key: Buffer | string }) {
    const certificate = new X509Certificate(identity.cert);
    this.key = createPrivateKey(identity.key);
    if (!certificate.checkPrivateKey(this.key)) throw new Error('EventSigner: the key does not belong to the certificate');
    this.deploymentId = subjectField(certificate, 'CN') ?? '';
    this.certificateHeader = certificate.raw.toString('base64');
  }

  /** Sets the signature headers for `data` published on `subject`. */
  sign(subject: string, data: Uint8Array, headers: MsgHdrs): void {
    headers.set(SIGNATURE_HEADER, sign('sha256', signedBytes(subject, data), this.key).toString('base64'));
    headers.set(SIGNER_HEADER, this.certificateHeader);
  }
}

export interface EventVerifierOptions {
  /** The network's CA certificate(s) (PEM); during a CA change both may be given. */
  ca: Buffer | string | readonly (Buffer | string)[];
  /** A revoked deployment or certificate (libs/pki RevocationList); asked on every event. */
  isRevoked?: (signer: { deploymentId: string; fingerprint: string }) => boolean;
  /** Whether a deployment of this agency type may produce this event type (the flow table). */
  mayProduce?: (agencyType: string, eventType: string) => boolean;
  /** An event without signature headers: refused (default), or taken as it comes (see libs/runtime). */
  unsigned?: 'refuse' | 'accept';
  now?: () => Date;
}

interface CheckedCertificate {
  deploymentId: string;
  agencyType: string;
  fingerprint: string;
  key: KeyObject;
  notBefore: number;
  notAfter: number;
}

/** Certificates seen, by their header value: parsing and checking the chain once, not per event. */
const MAX_CACHED = 256;

/**
 * Checks an event's signature before anything handles it: a certificate issued by the network's
 * CA, valid now and not revoked, whose CN owns the subject (`lotse.<CN>.…`), and a signature by its
 * key over the subject and the exact bytes. `checkEnvelope` then ties the decoded envelope to the
 * signer (producer id, and an event type the flow table lets its agency type produce).
 */
export class EventVerifier {
  private readonly cas: X509Certificate[];
  private readonly cache = new Map<string, CheckedCertificate>();

  constructor(private readonly options: EventVerifierOptions) {
    const list = Array.isArray(options.ca) ? options.ca : [options.ca];
    this.cas = (list as (Buffer | string)[]).map((pem) => new X509Certificate(pem));
  }

  /** Returns undefined only for an unsigned event with `unsigned: 'accept'`. */
  verify(subject: string, data: Uint8Array, headers: Record<string, string[]> | MsgHdrs | undefined): EventSignature | undefined {
    const signature = header(headers, SIGNATURE_HEADER);
    const certificate = header(headers, SIGNER_HEADER);
    if (!signature && !certificate && !hasHeader(headers, SIGNATURE_HEADER) && !hasHeader(headers, SIGNER_HEADER) && this.options.unsigned === 'accept') return undefined;
    if (!signature || !certificate) throw new SignatureError('unsigned');
    const signer = this.certificate(certificate);
    const now = (this.options.now?.() ?? new Date()).getTime();
    if (now < signer.notBefore || now > signer.notAfter) throw new SignatureError(`certificate of ${signer.deploymentId} is not valid now`);
    if (this.options.isRevoked?.(signer)) throw new SignatureError(`certificate of ${signer.deploymentId} is revoked`);
    const owner = subject.split('.')[1];
    if (!subject.startsWith('lotse.') || owner !== signer.deploymentId) {
      throw new SignatureError(`signed by ${signer.deploymentId}, who does not own ${subject}`);
    }
    let valid = false;
    try {
      valid = verify('sha256', signedBytes(subject, data), signer.key, Buffer.from(signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) throw new SignatureError(`does not match the bytes (signer ${signer.deploymentId})`);
    return { deploymentId: signer.deploymentId, agencyType: signer.agencyType, fingerprint: signer.fingerprint, signature, certificate };
  }

  /** The envelope must name the signer as its producer, and the flow table must allow the event type. */
  checkEnvelope(signature: EventSignature, envelope: Pick<Envelope, 'producerAgencyId' | 'eventType'>): void {
    if (envelope.producerAgencyId !== signature.deploymentId) {
      throw new SignatureError(`signed by ${signature.deploymentId}, but the envelope names ${envelope.producerAgencyId || 'no producer'}`);
    }
    if (this.options.mayProduce && !this.options.mayProduce(signature.agencyType, envelope.eventType)) {
      throw new SignatureError(`the flow table lets no ${signature.agencyType} produce ${envelope.eventType}`);
    }
  }

  private certificate(headerValue: string): CheckedCertificate {
    const cached = this.cache.get(headerValue);
    if (cached) return cached;
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(Buffer.from(headerValue, 'base64'));
    } catch {
      throw new SignatureError('the signer header is no certificate');
    }
    const issuer = this.cas.find((ca) => certificate.checkIssued(ca) && certificate.verify(ca.publicKey));
    if (!issuer || certificate.ca) throw new SignatureError('certificate not issued by the network CA');
    const deploymentId = subjectField(certificate, 'CN');
    const agencyType = subjectField(certificate, 'OU');
    if (!deploymentId || !agencyType) throw new SignatureError('certificate names no deployment');
    const checked: CheckedCertificate = {
      deploymentId,
      agencyType,
      fingerprint: certificate.fingerprint256,
      key: certificate.publicKey,
      notBefore: Date.parse(certificate.validFrom),
      notAfter: Date.parse(certificate.validTo),
    };
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(headerValue, checked);
    return checked;
  }
}

function header(headers: Record<string, string[]> | MsgHdrs | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as MsgHdrs).get === 'function' && typeof (headers as MsgHdrs).has === 'function') {
    const values = (headers as MsgHdrs).values(name);
    return values.length === 1 && values[0] ? values[0] : undefined;
  }
  const record = headers as Record<string, string[]>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  const values = key === undefined ? undefined : record[key];
  // Two values is ambiguous: which one would a later proof rest on?
  return values?.length === 1 ? values[0] : undefined;
}

function hasHeader(headers: Record<string, string[]> | MsgHdrs | undefined, name: string): boolean {
  if (!headers) return false;
  if (typeof (headers as MsgHdrs).has === 'function') return (headers as MsgHdrs).has(name);
  return Object.keys(headers).some((k) => k.toLowerCase() === name.toLowerCase());
}

/** One value of a subject field; a repeated or missing one is no identity. */
function subjectField(certificate: X509Certificate, field: string): string | undefined {
  const values = certificate.subject
    .split('\n')
    .filter((line) => line.startsWith(`${field}=`))
    .map((line) => line.slice(field.length + 1));
  return values.length === 1 && values[0] ? values[0] : undefined;
}
