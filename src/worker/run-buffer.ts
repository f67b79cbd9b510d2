import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import { reason } from '../shared/errors.js';
import { log } from '../shared/log.js';

/** One output line of a run, numbered from 0. */
export interface BufferedLine {
  seq: number;
  t: number;
  line: string;
}

/** Bytes of output kept in memory before they are spilled to the file. */
export const MEMORY_BOUND = 4 << 20;

/**
 * Every output line of a run, kept by the worker until the run is reported
 * (so a resumed run can resend what the server lacks): the newest lines in
 * memory up to a bound, older ones spilled to a file in the work dir. A
 * spill that cannot be written keeps its lines in memory (logged).
 */
export class RunBuffer {
  private mem: string[] = [];
  /** seq of mem[0]; every line below it is in the file (or being written to it). */
  private memStart = 0;
  private memBytes = 0;
  /** Lines on disk (seq 0 .. spilled-1). */
  private spilled = 0;
  private spilling: Promise<void> = Promise.resolve();
  private spillFailed = false;
  /** Lines pushed so far: the next line's seq. */
  count = 0;

  constructor(
    readonly spillPath: string,
    private readonly bound = MEMORY_BOUND,
  ) {}

  /** Keeps one line; returns its seq. */
  push(t: number, line: string): number {
    const enc = JSON.stringify({ t, line });
    this.mem.push(enc);
    this.memBytes += enc.length;
    if (this.memBytes > this.bound && !this.spillFailed) this.spill();
    return this.count++;
  }

  private spill(): void {
    const lines = this.mem;
    const start = this.memStart;
    this.mem = [];
    this.memBytes = 0;
    this.memStart += lines.length;
    this.spilling = this.spilling.then(async () => {
      try {
        await fs.appendFile(this.spillPath, lines.join('\n') + '\n', { mode: 0o600 });
        this.spilled = start + lines.length;
      } catch (e) {
        log('warn', `cannot spill output to ${this.spillPath}: ${reason(e)}; keeping it in memory`);
        this.spillFailed = true;
        // Back in front of what came since: nothing is lost, only the bound.
        this.mem = [...lines, ...this.mem];
        this.memStart = start;
        this.memBytes += lines.reduce((n, l) => n + l.length, 0);
      }
    });
  }

  /** Every line from `seq` on, including lines pushed while iterating; ends when caught up. */
  async *from(seq: number): AsyncGenerator<BufferedLine> {
    while (seq < this.count) {
      if (seq < this.memStart) {
        await this.spilling;
        const before = seq;
        for await (const l of this.readSpill(seq, Math.min(this.spilled, this.memStart))) {
          yield l;
          seq = l.seq + 1;
        }
        if (seq === before && seq < this.memStart) throw new Error(`the spilled output in ${this.spillPath} ends before line ${seq}`);
        continue;
      }
      const { t, line } = JSON.parse(this.mem[seq - this.memStart]!) as { t: number; line: string };
      yield { seq, t, line };
      seq++;
    }
  }

  private async *readSpill(from: number, end: number): AsyncGenerator<BufferedLine> {
    if (from >= end) return;
    const rl = createInterface({ input: createReadStream(this.spillPath, 'utf8'), crlfDelay: Infinity });
    let i = 0;
    try {
      for await (const text of rl) {
        if (i >= end) break;
        if (i >= from) {
          const { t, line } = JSON.parse(text) as { t: number; line: string };
          yield { seq: i, t, line };
        }
        i++;
      }
    } finally {
      rl.close();
    }
  }

  /** Removes the spill file. */
  async dispose(): Promise<void> {
    await this.spilling;
    await fs.rm(this.spillPath, { force: true }).catch(() => undefined);
  }
}
