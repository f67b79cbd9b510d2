import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import type { ConsoleLine } from '../../spool/records.js';

/**
 * A run's console as it arrives: lines are appended to console.ndjson in
 * batches (one write per event-loop turn), and `grew` is emitted once they
 * are on disk, so observers read the file instead of a memory buffer that a
 * slow observer could make grow without bound.
 */
export class ConsoleLog extends EventEmitter {
  private pending: string[] = [];
  private writing: Promise<void> | null = null;
  private fd: fs.FileHandle | null = null;
  private failed: Error | null = null;
  /** Lines accepted so far (written or about to be). */
  lines = 0;
  /** Set once the run ended and the last line is on disk. */
  ended = false;

  constructor(readonly path: string) {
    super();
    this.setMaxListeners(0);
  }

  /** Opens the file for appending (it may already hold lines after a restart). */
  async open(): Promise<void> {
    this.fd = await fs.open(this.path, 'a', 0o600);
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
    this.lines = text.slice(0, whole).split('\n').length - 1;
    await this.open();
  }

  /** Queues one line; written with the next batch. */
  append(line: ConsoleLine): void {
    this.pending.push(JSON.stringify(line) + '\n');
    this.lines++;
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.length > 0 && this.fd && !this.failed) {
      const batch = this.pending.join('');
      this.pending = [];
      try {
        await this.fd.write(batch);
      } catch (e) {
        // Kept, not emitted: an 'error' event without a listener would crash the server. flush() reports it.
        this.failed = e as Error;
      }
      this.emit('grew');
    }
    this.writing = null;
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
      this.emit('end');
    }
  }
}
