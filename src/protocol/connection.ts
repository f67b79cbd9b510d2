import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BuilderError, reason } from '../shared/errors.js';

/** Longest line a peer may send (artifact bytes are not lines). */
export const DEFAULT_MAX_LINE = 1 << 20;

const EMPTY = Buffer.alloc(0);
/** Bytes received ahead of the reader before the socket is paused (a longer line resumes it: see waitData). */
const MAX_BUFFERED = 256 * 1024;
/** Bytes received ahead of an artifact's sink while it drains. */
const RAW_AHEAD = 256 * 1024;
/** A sendSoon batch this big makes its senders wait for the socket. */
const SOON_BATCH = 64 * 1024;

/**
 * One peer over a socket, read by pulling: `readLine()` for the next message
 * line, `readRaw(size, sink)` for the raw bytes an artifact line announced.
 * Reading stops (socket paused) while nobody pulls, so a slow disk slows the
 * peer instead of filling memory. Writes are serialized, so a heartbeat line
 * never lands inside an artifact's bytes. When the socket closes, every
 * pending read fails with the reason.
 */
export class Connection {
  // Received bytes not yet consumed: `head` (being read) then whole chunks in
  // arrival order. Chunks are never copied on arrival; they are joined only
  // when one line spans several of them (see readLine).
  private head: Buffer = EMPTY;
  private rest: Buffer[] = [];
  private buffered = 0;
  // How far readLine already scanned without finding a newline: bytes of
  // `head`, then whole chunks of `rest` (so a long line is scanned once).
  private scanFrom = 0;
  private scanChunks = 0;
  private wake: (() => void) | null = null;
  private endReason: Error | null = null;
  private writeTail: Promise<void> = Promise.resolve();
  private batch: { text: string[]; bytes: number; done: Promise<void> } | null = null;
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
      if (this.buffered === 0) this.head = chunk;
      else this.rest.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered > MAX_BUFFERED + 65536) this.pause();
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

  /**
   * Whether the peer has sent nothing for `ms` (a missed heartbeat check);
   * then `onSilent` runs if it is still so once the input that waited in the
   * socket was read. why: after this process was frozen (SIGSTOP, a
   * suspended VM) timers may run before that input, and the peer must not
   * count as gone for our own pause.
   */
  checkSilence(ms: number, onSilent: () => void): boolean {
    if (this.idleMs() <= ms) return false;
    setImmediate(() => this.idleMs() > ms && onSilent());
    return true;
  }

  /** Whether the connection is closed or closing. */
  get isClosed(): boolean {
    return this.endReason !== null || this.socket.destroyed;
  }

  /** Whether a whole line is already buffered (readLine would not wait): lets a reader flush its output before it blocks. */
  hasLine(): boolean {
    if (this.head.indexOf(10, this.scanFrom) >= 0) return true;
    for (let i = this.scanChunks; i < this.rest.length; i++) if (this.rest[i]!.indexOf(10) >= 0) return true;
    return false;
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

  private resume(): void {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private resumeIfLow(): void {
    if (this.buffered < 65536) this.resume();
  }

  // why resume unconditionally: the reader needs more bytes (an incomplete line
  // is bounded by maxLine, checked in readLine).
  private waitData(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.resume();
    });
  }

  /** Drops the first `n` bytes of `head` (n <= head.length), moving to the next chunk when it is used up. */
  private consume(n: number): void {
    this.buffered -= n;
    this.head = n === this.head.length ? (this.rest.shift() ?? EMPTY) : this.head.subarray(n);
    this.scanFrom = 0;
    this.scanChunks = 0;
  }

  /** The next line without its newline; throws on close or on a line over the limit. */
  async readLine(): Promise<string> {
    for (;;) {
      const idx = this.head.indexOf(10, this.scanFrom);
      if (idx >= 0) {
        if (idx > this.maxLine) throw this.tooLong();
        const line = this.head.toString('utf8', 0, idx);
        this.consume(idx + 1);
        this.resumeIfLow();
        return line;
      }
      this.scanFrom = this.head.length;
      // The line goes on in later chunks: find its end there, then join only its pieces.
      let len = this.head.length;
      for (; this.scanChunks < this.rest.length; this.scanChunks++) {
        const c = this.rest[this.scanChunks]!;
        const nl = c.indexOf(10);
        if (nl >= 0) {
          if (len + nl > this.maxLine) throw this.tooLong();
          this.head = Buffer.concat([this.head, ...this.rest.splice(0, this.scanChunks + 1)]);
          this.scanChunks = 0;
          break;
        }
        len += c.length;
      }
      if (this.head.indexOf(10, this.scanFrom) >= 0) continue;
      if (this.buffered > this.maxLine) throw this.tooLong();
      if (this.endReason) throw this.endReason;
      await this.waitData();
    }
  }

  private tooLong(): BuilderError {
    return new BuilderError('line_too_long', `${this.peer} sent a line longer than ${this.maxLine} bytes`);
  }

  /**
   * Moves exactly `size` raw bytes from the peer into `sink`, honouring the
   * sink's backpressure. If the sink fails (disk full), the rest of the bytes
   * are still read and dropped, so the stream stays in step, and then a
   * BuilderError('sink_failed') with the sink's error as cause is thrown.
   */
  async readRaw(size: number, sink: Writable): Promise<void> {
    let left = size;
    let failed: Error | null = null;
    // Left attached: a sink that fails later (while it is ended) must not crash the process either.
    sink.on('error', (e: Error) => (failed ??= e));
    while (left > 0) {
      if (this.buffered === 0) {
        if (this.endReason) throw this.endReason;
        await this.waitData();
        continue;
      }
      const take = Math.min(left, this.head.length);
      const piece = this.head.subarray(0, take);
      this.consume(take);
      left -= take;
      if (!failed && !sink.write(piece) && !failed) {
        // why pause: while the disk catches up, the kernel's socket buffer (not our memory) holds the peer back.
        if (this.buffered >= RAW_AHEAD) this.pause();
        await drained(sink);
      }
      if (this.buffered < RAW_AHEAD) this.resume();
    }
    this.resumeIfLow();
    if (failed) throw new BuilderError('sink_failed', reason(failed), { cause: failed });
  }

  /**
   * Sends several messages as one write (one drain wait): for a burst of
   * lines, such as a console chunk to an observer. Lines given as strings
   * must already be complete JSON messages without their newline.
   */
  sendBatch(msgs: (object | string)[]): Promise<void> {
    if (msgs.length === 0) return Promise.resolve();
    const text = msgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join('\n') + '\n';
    return this.serialize(() => this.write(Buffer.from(text)));
  }

  /** Sends bytes that are already complete message lines (each ending with a newline), as one write. */
  sendBytes(lines: Buffer): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    return this.serialize(() => this.write(lines));
  }

  /**
   * Queues one message to go out with the others queued in the same
   * event-loop turn, as one write. Resolves at once while the batch is small
   * (as a socket write that did not fill the buffer would), else once the
   * batch went out and the socket drained: a slow peer slows the sender.
   * Rejects at once when the connection is closed. Order with send/sendFrame
   * is kept (the batch takes its place in the write queue when it is opened).
   */
  sendSoon(msg: object): Promise<void> {
    if (this.isClosed) return Promise.reject(this.endReason ?? new BuilderError('connection_closed', `${this.peer}: connection closed`));
    const text = JSON.stringify(msg);
    let b = this.batch;
    if (!b) {
      const open = { text: [] as string[], bytes: 0, done: Promise.resolve() };
      open.done = this.serialize(async () => {
        await new Promise<void>((r) => setImmediate(r));
        if (this.batch === open) this.batch = null;
        await this.write(Buffer.from(open.text.join('\n') + '\n'));
      });
      this.batch = b = open;
    }
    b.text.push(text);
    b.bytes += text.length + 1;
    return b.bytes < SOON_BATCH ? Promise.resolve() : b.done;
  }

  /** Sends one message as a JSON line; resolves once the socket took it (waits for drain). */
  send(msg: object): Promise<void> {
    return this.serialize(() => this.write(Buffer.from(JSON.stringify(msg) + '\n')));
  }

  /**
   * Sends a header line followed by exactly `size` bytes, as one unit: the
   * first `size` bytes of `body` (a body that has more is cut), padded with
   * zero bytes when it has fewer or fails to read, so the peer's stream stays
   * in step whatever the file does. Resolves with how many bytes came from
   * the body and the read error, if any; rejects only when the connection fails.
   */
  sendFrame(header: object, body: Readable, size: number): Promise<{ sent: number; error: Error | null }> {
    return this.serialize(async () => {
      await this.write(Buffer.from(JSON.stringify(header) + '\n'));
      let sent = 0;
      let error: Error | null = null;
      try {
        for await (const chunk of body) {
          const b = chunk as Buffer;
          const take = Math.min(b.length, size - sent);
          if (take > 0) await this.write(take === b.length ? b : b.subarray(0, take));
          sent += take;
          if (sent >= size) break;
        }
      } catch (e) {
        if (this.isClosed) throw e;
        error = e as Error;
      } finally {
        body.destroy();
      }
      const pad = Buffer.alloc(Math.min(size - sent, 1 << 20));
      for (let left = size - sent; left > 0; left -= pad.length) await this.write(left >= pad.length ? pad : pad.subarray(0, left));
      return { sent, error };
    });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    // Whatever is queued after an open sendSoon batch closes it: later lines start a new batch behind.
    this.batch = null;
    const p = this.writeTail.then(fn);
    this.writeTail = p.then(
      () => undefined,
      () => undefined,
    );
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

  /**
   * Gives up on a peer that stopped reading: one last message goes after
   * whatever the socket already holds (a stalled write included, so it stays
   * in order), the socket is ended, and destroyed after `graceMs` whatever
   * the peer does, which frees what it held.
   */
  abandon(msg: object, graceMs = 5000): void {
    if (this.socket.destroyed) return;
    this.batch = null;
    this.socket.end(JSON.stringify(msg) + '\n');
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  /** Closes at once, dropping pending data. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Resolves when the sink drained, failed or closed (the caller checks which). */
function drained(sink: Writable): Promise<void> {
  if (sink.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done);
      sink.off('error', done);
      sink.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    sink.once('error', done);
    sink.once('close', done);
  });
}
