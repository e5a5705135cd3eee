// Setup file of the unit tier (vitest.config.ts): a unit test reaches no server. Every socket
// connection (TCP or Unix, so PostgreSQL, NATS, gRPC and HTTP alike) fails at once with a message
// that says where such a test belongs, instead of hanging on a server that may not run.
import net from 'node:net';

const connect = net.Socket.prototype.connect;

net.Socket.prototype.connect = function refused(this: net.Socket, ...args: unknown[]) {
  const target = args[0];
  const where =
    typeof target === 'object' && target !== null
      ? ((target as { path?: string }).path ?? `${(target as { host?: string }).host ?? 'localhost'}:${(target as { port?: number }).port}`)
      : String(target);
  throw new Error(`a unit test may not connect to a server (${where}); a test that needs one belongs in the package's test/ folder`);
} as typeof connect;
