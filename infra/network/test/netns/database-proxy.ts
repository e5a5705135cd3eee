// The root namespace's side of a host's database link: the shared PostgreSQL listens on
// 127.0.0.1 only, so a TCP proxy on the link's root address forwards to it. A deployment in its
// namespace reaches its own database over this link and nothing else.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export async function startDatabaseProxy(host: string, target = { host: '127.0.0.1', port: 5432 }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('database proxy: no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
