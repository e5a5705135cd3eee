import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';

type Serialized = Uint8Array;

/**
 * The connection node-postgres talks to when the database is an embedded PGlite. PGlite's own
 * adapter (`@electric-sql/pglite/node-postgres`) runs every protocol message of a query — parse,
 * bind, describe, execute, sync — as a separate call into the WebAssembly database, each with its
 * own promise chain and file-system sync. This one buffers the messages of a query and hands them
 * over in one call when node-postgres asks for a result (sync or flush), which is how a socket
 * would deliver them to a server. The answers are the same messages, emitted as PGlite's adapter
 * does, so node-postgres cannot tell the difference.
 */
export class BatchingPgliteConnection extends EventEmitter {
  _connecting = false;
  readonly stream = { destroy: () => this.end() };
  // Read by node-postgres' Client for named statements.
  parsedStatements: Record<string, string> = {};
  submittedNamedStatements: Record<string, string> = {};
  private pending: Serialized[] = [];
  // A `begin` whose answer was already given and which goes over with the next query's messages.
  private deferredBegin: Serialized | undefined;
  private chain: Promise<unknown>;
  private flushScheduled = false;
  private forwardMessages = false;

  constructor(private readonly pglite: PGlite) {
    super();
    this.chain = pglite.waitReady;
    this.on('newListener', (event) => {
      if (event === 'message') this.forwardMessages = true;
    });
  }

  async connect(): Promise<void> {
    this._connecting = true;
    await this.pglite.waitReady;
    process.nextTick(() => this.emit('readyForQuery'));
  }

  // Authentication and TLS do not apply to an in-process database.
  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  password(): void {}
  ref(): void {}
  unref(): void {}

  query(text: string): void {
    // Every transaction opens with a bare `begin`, whose answer is known before it runs: answering
    // it here and sending it in front of the transaction's first statement saves one call into the
    // database (and its promise chain) per transaction — ~29 of the ~240 per journey. A `begin`
    // cannot fail on a connection that is idle, which is the only time node-postgres sends one.
    if (this.deferredBegin === undefined && this.pending.length === 0 && /^\s*begin\s*;?\s*$/i.test(text)) {
      this.deferredBegin = serialize.query(text);
      this.chain = this.chain.then(() => {
        this.answer({ name: 'commandComplete', length: 10, text: 'BEGIN' });
        this.answer({ name: 'readyForQuery', length: 5, status: 'T' });
      });
      return;
    }
    this.send(serialize.query(text), true);
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.send(serialize.parse(query), false);
  }
  bind(config: Parameters<typeof serialize.bind>[0]): void {
    this.send(serialize.bind(config), false);
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.send(serialize.execute(config), false);
  }
  describe(msg: Parameters<typeof serialize.describe>[0]): void {
    this.send(serialize.describe(msg), false);
  }
  close(msg: Parameters<typeof serialize.close>[0]): void {
    this.send(serialize.close(msg), false);
  }
  flush(): void {
    this.send(serialize.flush(), true);
  }
  sync(): void {
    this.send(serialize.sync(), true);
  }
  sendCopyFromChunk(chunk: Buffer): void {
    this.send(serialize.copyData(chunk), false);
  }
  endCopyFrom(): void {
    this.send(serialize.copyDone(), true);
  }
  sendCopyFail(message: string): void {
    this.send(serialize.copyFail(message), true);
  }

  end(): void {
    this.chain = this.chain.then(() => {
      this.emit('end');
    });
    for (const event of this.eventNames()) if (event !== 'newListener') this.removeAllListeners(event);
    this.forwardMessages = false;
  }

  private answer(message: { name: string; [field: string]: unknown }): void {
    if (this.forwardMessages) this.emit('message', message);
    this.emit(message.name === 'error' ? 'errorMessage' : message.name, message);
  }

  /** Buffers a message; a message that asks for answers sends everything buffered. */
  private send(message: Serialized, answerNow: boolean): void {
    this.pending.push(message);
    if (answerNow) this.sendPending();
    else if (!this.flushScheduled) {
      // Never leave a message behind, even if no sync follows in this tick.
      this.flushScheduled = true;
      queueMicrotask(() => this.sendPending());
    }
  }

  private sendPending(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const begin = this.deferredBegin;
    this.deferredBegin = undefined;
    if (begin) this.pending.unshift(begin);
    const bytes = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.chain = this.chain
      .then(() => this.pglite.execProtocolStream(bytes, { throwOnError: false }))
      .then((messages) => {
        let index = 0;
        if (begin) {
          // The begin's own answers (already given) end with its ready-for-query.
          while (index < messages.length && messages[index]!.name !== 'readyForQuery') index++;
          index++;
        }
        for (; index < messages.length; index++) this.answer(messages[index]!);
      })
      .catch((error: unknown) => {
        this.emit('error', error);
      });
  }
}

/** What `new pg.Pool(…)` / `new pg.Client(…)` take to talk to PGlite through the batching connection. */
export function pgliteClientConfig(pglite: PGlite) {
  return {
    poolSize: 1,
    password: 'unused',
    user: 'postgres',
    database: 'postgres',
    port: 5432,
    host: 'localhost',
    connection: new BatchingPgliteConnection(pglite),
  };
}
