// Requests refused for their bytes: checked (UTF-8, enum values, timestamp ranges) while they are
// deserialized, and the refusal carried to the handler's traced call to be thrown there.
import { MAX_FIELD_VIOLATIONS, ValidationError } from './errors.js';
import type { Method } from './call-context.js';
import type { RequestShapes } from './request-checks.js';

/**
 * What the deserializer hands on instead of a request it refused. grpc-js answers a throwing
 * deserializer with INTERNAL before any handler runs; this way the refusal goes through the
 * same path as every other error (traced, caller checked, INVALID_ARGUMENT with the fields).
 */
class RefusedRequest {
  constructor(readonly error: ValidationError) {}
}

/**
 * Checks the bytes (UTF-8, enum values, timestamp ranges) before decoding; a request that fails,
 * or does not decode at all, becomes a RefusedRequest — a client's bad bytes are its error.
 */
export function checkedDeserializer(method: Method<unknown, unknown, boolean>, shapes: RequestShapes): (value: Buffer) => unknown {
  const typeName = shapes.requestTypeOf(method.path);
  if (!typeName) throw new Error(`no request type for ${method.path} in the service's .proto`);
  return (value: Buffer) => {
    try {
      const { violations, total } = shapes.check(typeName, value, MAX_FIELD_VIOLATIONS);
      if (violations.length > 0) return new RefusedRequest(new ValidationError(violations, total));
      return method.requestDeserialize(value);
    } catch {
      return new RefusedRequest(ValidationError.field('', `the request is not an encoded ${typeName}`));
    }
  };
}

/** The decoded request, or the refusal of its bytes thrown inside the traced call. */
export function accepted(request: unknown): unknown {
  if (request instanceof RefusedRequest) throw request.error;
  return request;
}
