import { describe, expect, it } from 'vitest';
import { JetStreamApiError } from '@nats-io/jetstream';
import { isJetStreamElecting, retryWhileElecting } from './connection.js';

const unavailable = () => new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' });
const named = (name: string) => Object.assign(new Error(name), { name });

describe('retryWhileElecting', () => {
  it('tells an election (503 10008, a timeout, no responders) from a refusal', () => {
    expect(isJetStreamElecting(unavailable())).toBe(true);
    expect(isJetStreamElecting(named('TimeoutError'))).toBe(true);
    expect(isJetStreamElecting(named('JetStreamNotEnabled'))).toBe(true);
    expect(isJetStreamElecting(new JetStreamApiError({ code: 404, err_code: 10059, description: 'stream not found' }))).toBe(false);
    expect(isJetStreamElecting(named('PermissionViolationError'))).toBe(false);
  });

  it('answers once the election is over', async () => {
    let calls = 0;
    const answer = await retryWhileElecting(async () => {
      calls++;
      if (calls < 3) throw calls === 1 ? unavailable() : named('TimeoutError');
      return 'info';
    });
    expect(answer).toBe('info');
    expect(calls).toBe(3);
  });

  it('reports a refusal at once, and an election that outlasts the bound', async () => {
    let calls = 0;
    const refused = new JetStreamApiError({ code: 404, err_code: 10059, description: 'stream not found' });
    await expect(retryWhileElecting(async () => (calls++, Promise.reject(refused)))).rejects.toBe(refused);
    expect(calls).toBe(1);
    await expect(retryWhileElecting(() => Promise.reject(unavailable()), 300)).rejects.toThrow(/temporarily unavailable/);
  });
});
