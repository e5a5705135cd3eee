import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefixFor } from './broker-config.js';

export interface NatsConfig {
  servers: string | string[];
  /** Shown by the server (connz), e.g. "lotsenhaus"; helps to tell deployments apart. */
  name: string;
  /**
   * The deployment's certificate from the network's CA: the broker maps its subject to the
   * deployment's user and permissions (brokerConfig). Without it the connection is anonymous,
   * which only a development broker without authorization accepts.
   */
  tls?: { ca: Buffer | string; cert: Buffer | string; key: Buffer | string };
}

/** Whether a NATS_URL asks for TLS (`tls://…`), and so for the deployment's certificate. */
export function wantsTls(servers: string | string[]): boolean {
  return (Array.isArray(servers) ? servers : [servers]).some((s) => s.startsWith('tls://'));
}

export interface NatsClients {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Flushes what is pending and closes the connection. */
  close(): Promise<void>;
}

/**
 * The first connection is tried again a few times (about 10 s in all): on a busy machine a TLS
 * handshake with the broker can fail while every deployment starts at once, and the service then
 * died at start-up. A refusal of the identity is final at once; anything that outlasts the
 * attempts is reported as it is.
 */
async function connectWithRetry(options: Parameters<typeof connect>[0], attempts = 8): Promise<NatsConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(options);
    } catch (error) {
      const permanent = /authori[sz]ation|permission/i.test(String((error as Error)?.message ?? error));
      if (permanent || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** (attempt - 1), 2000)));
    }
  }
}

export async function connectNats(config: NatsConfig): Promise<NatsClients> {
  const nc = await connectWithRetry({
    servers: config.servers,
    name: config.name,
    // Replies (JetStream API answers, pulled messages) come to an inbox only this deployment may
    // subscribe to: with the shared `_INBOX.>` any client could read another's deliveries.
    ...(/^[A-Za-z0-9_-]+$/.test(config.name) ? { inboxPrefix: inboxPrefixFor(config.name) } : {}),
    // A service outlives broker restarts: keep reconnecting; the outbox holds events meanwhile.
    maxReconnectAttempts: -1,
    ...(config.tls
      ? { tls: { ca: String(config.tls.ca), cert: String(config.tls.cert), key: String(config.tls.key) } }
      : {}),
  });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}
