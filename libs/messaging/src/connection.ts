import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
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

/**
 * Whether a JetStream API failure means "the cluster is electing its leaders", which passes: the
 * 503 "JetStream system temporarily unavailable" (err_code 10008) a node gives while it has no
 * meta leader, a request that timed out because the node that should answer is gone or still
 * starting, and no responders while a leaf node is not yet connected to the cluster.
 */
export function isJetStreamElecting(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.code === 10008 || error.status === 503;
  // Neither error class is exported by the client's public entry points: told apart by name.
  return ['TimeoutError', 'JetStreamNotEnabled'].includes((error as Error)?.name);
}

/**
 * Runs a JetStream API call again while it meets an election (isJetStreamElecting), with backoff,
 * for up to `withinMs` (30 s: a meta-leader or stream-leader election under load takes a few
 * seconds, noticing a lost node's missing heartbeats a few more). Anything else, or an election
 * that outlasts the bound, is reported as it is.
 */
export async function retryWhileElecting<T>(call: () => Promise<T>, withinMs = 30_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const wait = Math.min(250 * 2 ** (attempt - 1), 2000);
      if (!isJetStreamElecting(error) || Date.now() + wait > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
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
    // A server behind a cut cable or a partition sends no FIN or RST: only unanswered pings tell.
    // With the client's default (every 2 minutes, 2 unanswered) the hub's consumer stayed for
    // minutes on a cluster node cut off from every host, and nothing reached the hub although the
    // other two nodes had quorum (the netns test). Within ~20 s it now moves to a node of its
    // list, as the servers do with their peers (nats-layout.ts).
    pingInterval: 5_000,
    maxPingOut: 3,
    ...(config.tls
      ? { tls: { ca: String(config.tls.ca), cert: String(config.tls.cert), key: String(config.tls.key) } }
      : {}),
  });
  const js = jetstream(nc);
  let jsm: JetStreamManager;
  try {
    // jetstreamManager() asks for the account's JetStream info once; right after a cluster starts
    // or loses a node that request meets an election, and the service died at start-up although
    // the cluster answered seconds later.
    jsm = await retryWhileElecting(() => jetstreamManager(nc));
  } catch (error) {
    // Not left open behind a failed start: the caller never sees this connection.
    await nc.close().catch(() => undefined);
    throw error;
  }
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}
