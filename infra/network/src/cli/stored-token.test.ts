import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { sendingStoredToken } from './login-command.js';

// The directory commands' client sends the token `pnpm lotse login` kept: directory edits need a
// signed-in supervisor, and without it every import on the default network was UNAUTHENTICATED.
describe('sendingStoredToken', () => {
  const recorder = () => {
    const seen: (string | undefined)[] = [];
    const client = {
      upsertOffer: async (_request: unknown, options: { metadata?: Metadata } = {}) => {
        seen.push(options.metadata?.get('authorization')[0] as string | undefined);
        return {};
      },
      close: () => 'closed',
    };
    return { client, seen };
  };

  it('adds the kept token to every call, and keeps an authorization a call brings', async () => {
    const { client, seen } = recorder();
    const signed = sendingStoredToken(client, 'kept');
    await signed.upsertOffer({});
    const own = new Metadata();
    own.set('authorization', 'Bearer own');
    await signed.upsertOffer({}, { metadata: own });
    expect(seen).toEqual(['Bearer kept', 'Bearer own']);
    expect(signed.close()).toBe('closed');
  });

  it('leaves the client as it is without a kept token', async () => {
    const { client, seen } = recorder();
    expect(sendingStoredToken(client, undefined)).toBe(client);
    await client.upsertOffer({});
    expect(seen).toEqual([undefined]);
  });
});
