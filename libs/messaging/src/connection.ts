import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsConfig {
  servers: string | string[];
  /** Shown by the server (connz), e.g. "lotsenhaus"; helps to tell deployments apart. */
  name: string;
}

export interface NatsClients {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Flushes what is pending and closes the connection. */
  close(): Promise<void>;
}

export async function connectNats(config: NatsConfig): Promise<NatsClients> {
  const nc = await connect({
    servers: config.servers,
    name: config.name,
    // A service outlives broker restarts: keep reconnecting; the outbox holds events meanwhile.
    maxReconnectAttempts: -1,
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
