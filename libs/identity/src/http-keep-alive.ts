import type { Server } from 'node:http';

/**
 * How long an HTTP listener keeps an idle keep-alive connection open: longer than the proxies and
 * clients in front of it keep theirs (60 s is the common default of load balancers and nginx).
 * Node's own 5 s loses the race with any client that reuses a connection after about that pause:
 * the server closes just as the client writes its next request, and the client reads a reset
 * (`fetch failed`, `ECONNRESET`; behind a proxy, a 502). The side that waits longer must be the
 * server, so the client or proxy always closes first. The `Keep-Alive: timeout=65` Node then
 * sends tells clients that read it how long they may wait.
 */
export const HTTP_KEEP_ALIVE_MS = 65_000;

/** Sets the idle timeout above on `server` (before it listens) and returns it. */
export function keepIdleConnectionsOpen<S extends Server>(server: S): S {
  server.keepAliveTimeout = HTTP_KEEP_ALIVE_MS;
  return server;
}
