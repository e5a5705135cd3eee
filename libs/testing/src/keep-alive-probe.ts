import type { Socket } from 'node:net';

export interface KeepAliveProbe {
  /** The `Keep-Alive: timeout=` the first answer announced, in seconds. */
  announced: number | undefined;
  /** Answers read on the one connection. */
  answers: number;
  /** Whether the server closed the connection during the pause. */
  closedWhileIdle: boolean;
}

/**
 * Whether an HTTP listener keeps an idle keep-alive connection open: sends `request` on `socket`
 * (plain or TLS, already connecting), pauses `idleMs`, sends it again, and says what came back.
 * Node's 5 s default closes the socket during a pause of about that length, and a client reusing
 * it then reads a reset.
 */
export async function probeKeepAlive(socket: Socket, request: string, idleMs: number): Promise<KeepAliveProbe> {
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  // Not anchored to a line start: an answer follows the previous body directly.
  const answers = () => (received.match(/HTTP\/1\.1 \d{3} /g) ?? []).length;
  const answered = async (n: number) => {
    const deadline = Date.now() + 10_000;
    while (answers() < n && !closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  try {
    socket.write(request);
    await answered(1);
    const announced = /^keep-alive: timeout=(\d+)/im.exec(received)?.[1];
    await new Promise((r) => setTimeout(r, idleMs));
    const closedWhileIdle = closed;
    if (!closed) {
      socket.write(request);
      await answered(2);
    }
    return { announced: announced === undefined ? undefined : Number(announced), answers: answers(), closedWhileIdle };
  } finally {
    socket.destroy();
  }
}
