import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Any, rpcErrorDetails, rpcStatus } from '@lotse/contracts';
import { isDatabaseUnavailable } from '@lotse/db';

// Domain errors, thrown by service code; mapped to gRPC status codes once, at the edge.

export interface FieldViolation {
  /** Proto field path in snake_case, e.g. "birth_date" or "recipients[2]". */
  field: string;
  description: string;
}

/**
 * At most this many violations travel back, plus a count of the rest: they go out in the
 * trailers (grpc-message and grpc-status-details-bin), and 10,000 bad list entries made 1.16 MB
 * of trailers that a default client refuses to read. The first 20 are enough to fix a request.
 */
export const MAX_FIELD_VIOLATIONS = 20;
// A description may quote what the client sent; long ones are cut to keep the trailers small.
const MAX_DESCRIPTION = 160;
const MAX_QUOTED = 64;
/**
 * grpc-message travels as an HTTP/2 trailer; one far larger than the client's header-list limit
 * (8 to 16 KB by default) is refused by the client, which then never sees the status and waits
 * for its deadline, its connection broken. Every message the edge sends is cut to this length.
 */
const MAX_MESSAGE = 1024;

export class ValidationError extends Error {
  /** The first MAX_FIELD_VIOLATIONS violations. */
  readonly violations: FieldViolation[];
  /** How many violations were found in all, listed or not. */
  readonly total: number;

  constructor(violations: FieldViolation[], total = violations.length) {
    const listed = violations.slice(0, MAX_FIELD_VIOLATIONS).map((v) => ({ field: cut(v.field), description: cut(v.description) }));
    const more = Math.max(total, violations.length) - listed.length;
    const text = listed.map((v) => (v.field ? `${v.field}: ${v.description}` : v.description));
    // The count survives the cut of the message; every listed violation is in the details.
    const tail = more > 0 ? `; and ${more} more violations` : '';
    super(cut(text.join('; '), MAX_MESSAGE - tail.length) + tail);
    this.name = 'ValidationError';
    this.violations = listed;
    this.total = listed.length + more;
  }
  static field(field: string, description: string): ValidationError {
    return new ValidationError([{ field, description }]);
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly field: string,
    readonly value: string,
    what = field.replace(/_id$/, '').replace(/_/g, ' '),
  ) {
    // The value is the client's: quoted only in part, so an 80 KB id cannot make an 80 KB trailer.
    super(`${field}: no ${what} "${cut(value, MAX_QUOTED)}"`);
    this.name = 'NotFoundError';
  }
}

/** No legal basis (consent or statute) for what the caller asked, or the caller may not call this. */
export class PermissionDeniedError extends Error {
  override name = 'PermissionDeniedError';
}

export class AlreadyExistsError extends Error {
  override name = 'AlreadyExistsError';
}

/** The request is valid but the object is in a state that does not allow it. */
export class FailedPreconditionError extends Error {
  override name = 'FailedPreconditionError';
}

/** Another agency or the broker cannot be reached. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}

export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
}

/** A limit of the server was reached (a stream's reader fell too far behind). */
export class ResourceExhaustedError extends Error {
  override name = 'ResourceExhaustedError';
  /** Sent as `grpc-retry-pushback-ms`: when a retry may succeed (grpc-js's retry policy waits that long). */
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const codes: [new (...args: any[]) => Error, status][] = [
  [ValidationError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [PermissionDeniedError, status.PERMISSION_DENIED],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [UnavailableError, status.UNAVAILABLE],
  [UnauthenticatedError, status.UNAUTHENTICATED],
  [ResourceExhaustedError, status.RESOURCE_EXHAUSTED],
];

export function statusOf(error: unknown): status {
  if (isServiceError(error)) return error.code;
  for (const [type, code] of codes) if (error instanceof type) return code;
  // The database away is a condition to retry, not a bug: UNAVAILABLE tells clients to come back.
  if (isDatabaseUnavailable(error)) return status.UNAVAILABLE;
  return status.INTERNAL;
}

export function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && 'code' in error && 'metadata' in error && typeof (error as ServiceError).code === 'number';
}

const badRequestType = 'type.googleapis.com/google.rpc.BadRequest';

/**
 * The status a client sees. Invalid input also carries google.rpc.BadRequest in
 * grpc-status-details-bin, so generic clients can show each field violation. Internal errors
 * are not described to the caller (the message may hold data); they are logged instead.
 */
export function toServiceError(error: unknown): Partial<ServiceError> {
  const code = statusOf(error);
  if (isServiceError(error)) {
    // A downstream agency's error: say which status it gave, keep it unavailable-or-same.
    return { code: code === status.DEADLINE_EXCEEDED ? status.UNAVAILABLE : code, details: cut(error.details ?? '', MAX_MESSAGE) };
  }
  const message =
    code === status.INTERNAL ? 'internal error' : isDatabaseUnavailable(error) ? 'the database is unavailable; try again' : cut((error as Error).message, MAX_MESSAGE);
  const metadata = new Metadata();
  if (error instanceof ValidationError) {
    const more = error.total - error.violations.length;
    const details = rpcErrorDetails.BadRequest.encode({
      fieldViolations: [
        ...error.violations.map((v) => ({ field: v.field, description: v.description })),
        // An empty field is the request as a whole: how many more there are, not which.
        ...(more > 0 ? [{ field: '', description: `${more} more violations not listed` }] : []),
      ],
    }).finish();
    const statusProto = rpcStatus.Status.encode({
      code,
      message,
      details: [Any.fromPartial({ typeUrl: badRequestType, value: Buffer.from(details) })],
    }).finish();
    metadata.set('grpc-status-details-bin', Buffer.from(statusProto));
  }
  if (error instanceof ResourceExhaustedError && error.retryAfterMs !== undefined) metadata.set('grpc-retry-pushback-ms', String(error.retryAfterMs));
  return { code, details: message, metadata };
}

function cut(text: string, max = MAX_DESCRIPTION): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Reads the field violations back out of an error a client received. */
export function fieldViolationsOf(error: ServiceError): FieldViolation[] {
  const raw = error.metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return [];
  const decoded = rpcStatus.Status.decode(new Uint8Array(raw));
  return decoded.details
    .filter((d) => d.typeUrl === badRequestType)
    .flatMap((d) => rpcErrorDetails.BadRequest.decode(d.value).fieldViolations);
}
