import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { isUnreachable, throwDownstream } from './client.js';
import { UnavailableError } from './errors.js';

const failed = (code: status, details = 'gone'): ServiceError => Object.assign(new Error(details), { code, details, metadata: new Metadata() });

describe('a downstream call that failed', () => {
  it('is unreachable when the other side was away or too slow, not when it answered', () => {
    expect(isUnreachable(failed(status.UNAVAILABLE))).toBe(true);
    expect(isUnreachable(failed(status.DEADLINE_EXCEEDED))).toBe(true);
    expect(isUnreachable(failed(status.PERMISSION_DENIED))).toBe(false);
    expect(isUnreachable(new Error('not a gRPC error'))).toBe(false);
  });

  it("becomes this server's UNAVAILABLE naming whom it waited on; other statuses pass through as they came", () => {
    expect(() => throwDownstream(failed(status.DEADLINE_EXCEEDED, 'deadline'), 'kv-mayen-koblenz')).toThrow(new UnavailableError('kv-mayen-koblenz cannot be reached: deadline'));
    expect(() => throwDownstream(failed(status.UNAVAILABLE, 'down'), 'the hub lotsenhaus', 'to check the cooperation agreements')).toThrow(
      'the hub lotsenhaus cannot be reached to check the cooperation agreements: down',
    );
    const denied = failed(status.PERMISSION_DENIED, 'no consent');
    expect(() => throwDownstream(denied, 'kv-mayen-koblenz')).toThrow(denied);
  });
});
