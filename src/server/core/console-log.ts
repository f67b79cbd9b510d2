import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { reason } from '../../shared/errors.js';
import type { ConsoleLine } from '../../spool/records.js';

/** Unwritten console bytes of one run past which its worker is held back (see `room`). */
export const CONSOLE_PENDING_MAX = 64 * 1024;
/** On a failed write the file is cut back this far (to a line boundary), so a full disk keeps room for the run's result. */
const ROOM_ON_FAILURE = 64 * 1024;

/**
 * A run's console as it arrives: lines are appended to console.ndjson in
 * batches (one write per event-loop turn), and `grew` is emitted once they
 * are on disk, so observers read the file instead of a memory buffer that a
 * slow observer could make grow without bound. What waits to be written is
 * bounded: past CONSOLE_PENDING_MAX, `room()` makes the worker's session
 * wait (its socket then fills and TCP holds the worker back). A failed write
 * (disk full) cuts the file back to a whole line, frees some room, drops
 * every later line and is reported by `failure` and `flush`.
 */
export class ConsoleLog extends EventEmitter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> | null = null;
  private fd: fs.FileHandle | null = null;
  private failed: Error | null = null;
  private offset = 0;
  /** Byte offsets at which a batch (a whole number of lines) ended, with the line count there: where a failed file is cut. */
  private marks: { offset: number; lines: number }[] = [];
  private roomWaiters: (() => void)[] = [];
  /** Lines accepted so far (written or about to be); after a failure, the lines the file keeps. */
  lines = 0;
  /** Set once the run ended and the last line is on disk. */
  ended = false;
  /**
   * After openExisting: the bytes of the worker's lines as the console limit counts them, the last
   * line's text, and how many lines the server itself added (`builder-server: ...` at t 0, about
   * artifacts), which have no seq of the worker's.
   */
  kept = { bytes: 0, last: null as string | null, serverLines: 0 };

  constructor(readonly path: string) {
    super();
    this.setMaxListeners(0);
  }

  /** Bytes of the file on disk (whole lines, all written): a follower at this offset has nothing to read yet. */
  get written(): number {
    return this.offset;
  }

  /** Opens the file for appending (it may already hold lines after a restart). */
  async open(): Promise<void> {
    this.fd = await fs.open(this.path, 'a', 0o600);
    this.offset = (await this.fd.stat()).size;
    this.marks.push({ offset: this.offset, lines: 0 });
  }

  /**
   * Opens a console that may hold lines from before a restart, to go on
   * appending: a torn last line (a crash mid-write) is cut off, and `lines`
   * counts what is kept.
   */
  async openExisting(): Promise<void> {
    const text = await fs.readFile(this.path, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : Promise.reject(e)));
    const whole = text.endsWith('\n') ? text.length : text.lastIndexOf('\n') + 1;
    if (whole < text.length) await fs.truncate(this.path, Buffer.byteLength(text.slice(0, whole)));
    const lines = text.slice(0, whole).split('\n').slice(0, -1);
    this.lines = lines.length;
    // why parse: the run's console limit goes on counting from what it kept (limits.ts restoredUsage).
    for (const l of lines) {
      const { t, line } = parseStored(l);
      if (t === 0 && line.startsWith('builder-server: ')) this.kept.serverLines++;
      else this.kept.bytes += Buffer.byteLength(line) + 1;
      this.kept.last = line;
    }
    await this.open();
  }

  /** Why the console could not be stored (`cannot store console PATH: REASON`), or null. */
  get failure(): string | null {
    return this.failed ? `cannot store console ${this.path}: ${reason(this.failed)}` : null;
  }

  /** Queues one line; written with the next batch (dropped once a write failed). */
  append(line: ConsoleLine): void {
    if (this.failed) return;
    const text = JSON.stringify(line) + '\n';
    this.pending.push(text);
    this.pendingBytes += text.length;
    this.lines++;
    if (!this.writing) this.writing = this.drain();
  }

  /** Resolves at once while little waits to be written, else once the writes caught up (or failed). */
  room(): Promise<void> | null {
    if (this.pendingBytes <= CONSOLE_PENDING_MAX || this.failed) return null;
    return new Promise((r) => this.roomWaiters.push(r));
  }

  private wakeRoom(): void {
    if (this.pendingBytes > CONSOLE_PENDING_MAX && !this.failed) return;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  private async drain(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length > 0 && this.fd && !this.failed) {
      const batch = Buffer.from(this.pending.join(''));
      const count = this.pending.length;
      this.pending = [];
      this.pendingBytes = 0;
      try {
        await writeAll(this.fd, batch);
        this.offset += batch.length;
        this.marks.push({ offset: this.offset, lines: (this.marks.at(-1)?.lines ?? 0) + count });
        if (this.marks.length > 256) this.marks.splice(1, this.marks.length - 128);
      } catch (e) {
        // Kept, not emitted: an 'error' event without a listener would crash the server. flush() reports it.
        this.failed = e as Error;
        await this.cutBack();
      }
      this.wakeRoom();
      this.emit('grew');
    }
    this.writing = null;
    this.wakeRoom();
  }

  /** After a failed write: truncate to a whole line, at least ROOM_ON_FAILURE back when there is that much. */
  private async cutBack(): Promise<void> {
    const want = this.offset - ROOM_ON_FAILURE;
    let mark = this.marks[0]!;
    for (const m of this.marks) if (m.offset <= want) mark = m;
    await this.fd?.truncate(mark.offset).catch(() => undefined);
    this.offset = mark.offset;
    this.lines = mark.lines;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Waits until every accepted line is on disk; rejects if a write failed. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failed) throw this.failed;
  }

  /** Flushes, closes the file and tells observers the run ended. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.fd?.close().catch(() => undefined);
      this.fd = null;
      this.ended = true;
      this.wakeRoom();
      this.emit('end');
    }
  }
}

/** One stored console line (a hand-edited line that is not JSON counts as its text). */
function parseStored(stored: string): { t: number | null; line: string } {
  try {
    const v = JSON.parse(stored) as { t?: unknown; line?: unknown };
    return { t: typeof v.t === 'number' ? v.t : null, line: typeof v.line === 'string' ? v.line : stored };
  } catch {
    return { t: null, line: stored };
  }
}

/** Writes every byte (a short write, as on a filling disk, is continued; ENOSPC then rejects). */
async function writeAll(fd: fs.FileHandle, buf: Buffer): Promise<void> {
  for (let at = 0; at < buf.length; ) {
    const { bytesWritten } = await fd.write(buf, at, buf.length - at);
    at += bytesWritten;
  }
}
