import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BuilderError } from '../shared/errors.js';

/** Longest line a peer may send (artifact bytes are not lines). */
export const DEFAULT_MAX_LINE = 1 << 20;

const EMPTY = Buffer.alloc(0);

/**
 * One peer over a socket, read by pulling: `readLine()` for the next message
 * line, `readRaw(size, sink)` for the raw bytes an artifact line announced.
 * Reading stops (socket paused) while nobody pulls, so a slow disk slows the
 * peer instead of filling memory. Writes are serialized, so a heartbeat line
 * never lands inside an artifact's bytes. When the socket closes, every
 * pending read fails with the reason.
 */
export class Connection {
  private buf: Buffer = EMPTY;
  private scanFrom = 0;
  private wake: (() => void) | null = null;
  private endReason: Error | null = null;
  private writeTail: Promise<void> = Promise.resolve();
  private paused = false;
  private lastSeen = Date.now();
  /** Resolves with the reason once the connection is closed. */
  readonly closed: Promise<string>;

  constructor(
    readonly socket: Socket,
    readonly peer: string,
    private readonly maxLine = DEFAULT_MAX_LINE,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.lastSeen = Date.now();
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      if (this.buf.length > this.maxLine + 65536) this.pause();
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      socket.on('error', (e) => this.end(new BuilderError('connection_error', `${peer}: ${e.message}`)));
      socket.on('end', () => this.end(new BuilderError('connection_closed', `${peer} closed the connection`)));
      socket.on('close', () => {
        this.end(new BuilderError('connection_closed', `${peer} closed the connection`));
        resolve(this.endReason!.message);
      });
    });
  }

  /** Milliseconds since the peer last sent anything (0 while we hold its data back). */
  idleMs(): number {
    return this.paused ? 0 : Date.now() - this.lastSeen;
  }

  /** Whether the connection is closed or closing. */
  get isClosed(): boolean {
    return this.endReason !== null || this.socket.destroyed;
  }

  private end(err: Error): void {
    if (!this.endReason) this.endReason = err;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private resumeIfLow(): void {
    if (this.paused && this.buf.length < 65536) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private waitData(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.resumeIfLow();
    });
  }

  /** The next line without its newline; throws on close or on a line over the limit. */
  async readLine(): Promise<string> {
    for (;;) {
      const idx = this.buf.indexOf(10, this.scanFrom);
      if (idx >= 0) {
        if (idx > this.maxLine) throw this.tooLong();
        const line = this.buf.toString('utf8', 0, idx);
        this.buf = idx + 1 === this.buf.length ? EMPTY : this.buf.subarray(idx + 1);
        this.scanFrom = 0;
        this.resumeIfLow();
        return line;
      }
      if (this.buf.length > this.maxLine) throw this.tooLong();
      this.scanFrom = this.buf.length;
      if (this.endReason) throw this.endReason;
      await this.waitData();
    }
  }

  private tooLong(): BuilderError {
    return new BuilderError('line_too_long', `${this.peer} sent a line longer than ${this.maxLine} bytes`);
  }

  /** Moves exactly `size` raw bytes from the peer into `sink`, honouring the sink's backpressure. */
  async readRaw(size: number, sink: Writable): Promise<void> {
    let left = size;
    this.scanFrom = 0;
    while (left > 0) {
      if (this.buf.length === 0) {
        if (this.endReason) throw this.endReason;
        await this.waitData();
        continue;
      }
      const take = Math.min(left, this.buf.length);
      const piece = this.buf.subarray(0, take);
      this.buf = take === this.buf.length ? EMPTY : this.buf.subarray(take);
      left -= take;
      if (!sink.write(piece)) await drained(sink);
    }
    this.resumeIfLow();
  }

  /** Sends one message as a JSON line; resolves once the socket took it (waits for drain). */
  send(msg: object): Promise<void> {
    return this.serialize(() => this.write(Buffer.from(JSON.stringify(msg) + '\n')));
  }

  /** Sends a header line followed by exactly `size` bytes read from `body`, as one unit. */
  sendFrame(header: object, body: Readable, size: number): Promise<void> {
    return this.serialize(async () => {
      await this.write(Buffer.from(JSON.stringify(header) + '\n'));
      let sent = 0;
      for await (const chunk of body) {
        const b = chunk as Buffer;
        if (sent + b.length > size) throw new BuilderError('artifact_grew', `file grew while it was being sent`);
        sent += b.length;
        await this.write(b);
      }
      if (sent !== size) {
        // The peer expects exactly `size` bytes: the stream is now unusable.
        this.destroy();
        throw new BuilderError('artifact_shrank', `file shrank while it was being sent (${sent} of ${size} bytes)`);
      }
    });
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const p = this.writeTail.then(fn);
    this.writeTail = p.catch(() => undefined);
    return p;
  }

  private write(b: Buffer): Promise<void> {
    if (this.isClosed) return Promise.reject(this.endReason ?? new BuilderError('connection_closed', `${this.peer}: connection closed`));
    if (this.socket.write(b)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.endReason ?? new BuilderError('connection_closed', `${this.peer}: connection closed`));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** Sends a last failure line, then closes. */
  async fail(message: string, code?: string): Promise<void> {
    await this.send({ type: 'failure', message, ...(code ? { code } : {}) }).catch(() => undefined);
    this.close();
  }

  /** Closes after pending writes are flushed. */
  close(): void {
    this.writeTail.finally(() => this.socket.end());
    // A peer that never reads must not keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Closes at once, dropping pending data. */
  destroy(): void {
    this.socket.destroy();
  }
}

function drained(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      sink.off('error', fail);
      resolve();
    };
    const fail = (e: Error) => {
      sink.off('drain', done);
      reject(e);
    };
    sink.once('drain', done);
    sink.once('error', fail);
  });
}
