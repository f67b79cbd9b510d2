import { promises as fs } from 'node:fs';
import type { Outcome } from '../../protocol/types.js';
import type { ConsoleLine } from '../../spool/records.js';
import type { Run } from './run-phase.js';
import type { ServerState } from './state.js';
import { acquireConsoleBlocks, releaseConsoleBlocks, type ConsoleBlock } from './console-blocks.js';

const CHUNK = 64 * 1024;
/**
 * How long a follower at the live end of a console lets new output gather
 * before it reads it, when there is little: a chatty job's console grows by many small writes, and
 * one block for all of them is one read, one encoding and one socket write
 * per observer (and one wake-up of each observer's process) instead of one
 * per write. Short next to what a person watching can notice.
 */
const GATHER_MS = 25;
/** Less new output than this at the live end is left to gather (see GATHER_MS) before it is read. */
const GATHER_BYTES = 64 * 1024;

/**
 * Where a run's console is: the live run (still growing) or a stored
 * result's file; null for an unknown run id. `path()` is asked again when
 * the file is opened, since a run that ends moves from running/ to results/.
 */
export function locateConsole(state: ServerState, runId: string): { path: () => string; live: Run | null } | null {
  const live = state.runs.get(runId) ?? null;
  if (!live && !state.results.has(runId)) return null;
  const path = () => {
    const name = state.results.get(runId);
    return name ? state.spool.path('results', name, runId, 'console.ndjson') : state.spool.consolePath(runId);
  };
  return { path, live };
}

/**
 * Reads a console.ndjson file line by line, up to its current end, and can
 * be called again to read what was appended since. It keeps its open handle,
 * so a file renamed from running/ to results/ keeps being read.
 */
export class ConsoleReader {
  private fd: fs.FileHandle | null = null;
  private pos = 0;
  private carry: Buffer = Buffer.alloc(0);
  /** Lines read so far (the number of the next line). */
  n = 0;

  constructor(private readonly path: string | (() => string)) {}

  /** Reads one chunk and hands every complete line to `each`; returns the bytes read (0: at the end for now). */
  async readChunk(each: (n: number, c: ConsoleLine) => Promise<void> | void): Promise<number> {
    return this.readLines(async (first, lines) => {
      for (let i = 0; i < lines.length; i++) await each(first + i, JSON.parse(lines[i]!) as ConsoleLine);
    });
  }

  /** Reads one chunk and hands its complete lines, as stored (JSON text of a ConsoleLine), to `each` with the number of the first. */
  async readLines(each: (first: number, lines: string[]) => Promise<void> | void): Promise<number> {
    return this.readBlock((first, block) => each(first, block.toString('utf8').split('\n').filter((l) => l !== '')));
  }

  /**
   * Reads one chunk (CHUNK bytes, or `size`) and hands its complete lines as
   * stored, still as bytes (each ending with a newline, empty lines left
   * out of the count), to `each` in one call with the number of the first
   * and how many there are; returns the bytes read (0: at the end for now).
   */
  async readBlock(each: (first: number, block: Buffer, count: number) => Promise<void> | void, size = CHUNK): Promise<number> {
    if (!this.fd) this.fd = await fs.open(typeof this.path === 'string' ? this.path : this.path(), 'r').catch(() => null);
    if (!this.fd) return 0;
    const buf = Buffer.allocUnsafe(this.carry.length + size);
    this.carry.copy(buf);
    const { bytesRead } = await this.fd.read(buf, this.carry.length, size, this.pos);
    this.pos += bytesRead;
    const end = this.carry.length + bytesRead;
    // Only the bytes read count: the rest of the buffer is uninitialized.
    const last = end === 0 ? -1 : buf.subarray(0, end).lastIndexOf(10);
    if (last < 0) {
      if (bytesRead > 0) this.carry = Buffer.from(buf.subarray(0, end));
      return bytesRead;
    }
    // why copy: the carry must not keep this whole chunk alive.
    this.carry = Buffer.from(buf.subarray(last + 1, end));
    const block = buf.subarray(0, last + 1);
    let count = 0;
    for (let i = block.indexOf(10), prev = -1; i >= 0; prev = i, i = block.indexOf(10, i + 1)) if (i > prev + 1) count++;
    const first = this.n;
    this.n += count;
    if (count > 0) await each(first, block, count);
    return bytesRead;
  }

  /** Reads everything there is now. */
  async readAll(each: (n: number, c: ConsoleLine) => Promise<void> | void): Promise<void> {
    while ((await this.readChunk(each)) > 0);
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.fd?.close();
    this.fd = null;
  }
}

/**
 * Streams a run's console to `sink` from line `from` on, then follows it
 * live until the run ends (or `signal` aborts). It reads the console file,
 * never a shared memory buffer, and awaits the sink: a slow observer only
 * slows itself and never loses a line. Returns null for an unknown run id,
 * else the outcome (null when aborted or not recorded).
 */
export function followConsole(
  state: ServerState,
  runId: string,
  from: number,
  sink: (n: number, c: ConsoleLine) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ outcome: Outcome | null } | null> {
  return followConsoleBlocks(
    state,
    runId,
    from,
    async (b) => {
      const lines = b.raw.toString('utf8').split('\n').filter((l) => l !== '');
      for (let i = 0; i < lines.length; i++) if (b.first + i >= from) await sink(b.first + i, JSON.parse(lines[i]!) as ConsoleLine);
    },
    signal,
  );
}

/**
 * followConsole by the block: `sink` gets a chunk's worth of whole stored
 * lines at once (see ConsoleBlocks), so a fast reader pays one call, and one
 * socket write, per chunk, and followers in step share each read and its
 * encoding (ConsoleBlock.output). Blocks wholly before line `from` are
 * skipped; the first block given may start before it (the sink skips those
 * lines).
 */
export async function followConsoleBlocks(
  state: ServerState,
  runId: string,
  from: number,
  sink: (block: ConsoleBlock) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ outcome: Outcome | null } | null> {
  const where = locateConsole(state, runId);
  if (!where) return null;
  const { live } = where;
  // A live run (even one being stored) ends with its run_ended event: only then is every line on
  // disk and the file in its final place, so the last read comes after it (an observer that
  // attaches as the run ends still gets the last lines and the outcome).
  let ended = !live;
  let outcome: Outcome | null = null;
  let wake: (() => void) | null = null;
  let hurry: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const stop = () => (poke(), hurry?.());
  const offOutput = live ? state.events.on('run_output', (e) => (e.runId === runId ? poke() : undefined)) : () => undefined;
  const offEnded = live
    ? state.events.on('run_ended', (e) => {
        if (e.runId !== runId) return;
        outcome = e.outcome;
        ended = true;
        stop();
      })
    : () => undefined;
  signal?.addEventListener('abort', stop);
  const blocks = acquireConsoleBlocks(state, runId, where.path);
  try {
    // Where this follower is: a byte offset at a line boundary, and the number of the line there.
    let offset = 0;
    let line = 0;
    let gathered = false;
    for (;;) {
      if (signal?.aborted) return { outcome: null };
      const endedBeforeRead = ended;
      // A live console tells how much is on disk: nothing new, no read (and a small block, a small read).
      const written = ended ? null : (live?.console?.written ?? null);
      if (written !== null && written > offset && written - offset < GATHER_BYTES && !gathered) {
        // Only the run's end (or the abort) cuts the gathering short, not more output.
        gathered = true;
        await new Promise<void>((r) => ((hurry = r), setTimeout(r, GATHER_MS).unref()));
        hurry = null;
        continue;
      }
      gathered = false;
      const block = written !== null && offset >= written ? null : await blocks.blockAt(offset, line, written === null ? undefined : written - offset);
      if (block) {
        offset = block.next;
        line = block.first + block.count;
        if (line > from) await sink(block);
        continue;
      }
      if (endedBeforeRead) break;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000).unref();
      });
    }
    const stored = state.results.get(runId);
    if (!outcome && stored) outcome = (await state.spool.readResult(stored, runId))?.outcome ?? null;
    return { outcome };
  } finally {
    await releaseConsoleBlocks(state, blocks);
    offOutput();
    offEnded();
    signal?.removeEventListener('abort', stop);
  }
}
