// Reads of a run's console shared by everyone following it: observers at the same place get the same block, encoded once.
import { promises as fs } from 'node:fs';
import { outputBlock, printedBlock, type PrintFormat } from './output-lines.js';

/** What a follower reads at once: fewer, bigger reads and writes for a follower that is behind. */
export const BLOCK = 256 * 1024;
/** Blocks kept per run for followers a little behind the others (each at most ~2.3 x BLOCK with its encodings in use). */
const KEEP = 6;

/**
 * A run of whole stored console lines (JSON text of a ConsoleLine, each
 * ending with a newline) read from byte `offset` of the file; `first` is the
 * number of its first line, `count` how many lines it holds (empty lines
 * are not counted), `next` the offset just past it.
 */
export class ConsoleBlock {
  private encoded: Buffer | null = null;
  private framed: Partial<Record<PrintFormat, Buffer | null>> = {};

  constructor(
    readonly runId: string,
    readonly offset: number,
    readonly first: number,
    readonly raw: Buffer,
    readonly count: number,
  ) {}

  get next(): number {
    return this.offset + this.raw.length;
  }

  /**
   * The block as `output` messages, from line `from` on. From its first
   * line (what every live observer wants) it is encoded once and the same
   * bytes are handed to each: the per-line work does not grow with the
   * number of observers.
   */
  output(from = 0): Buffer {
    if (from > this.first) return outputBlock(this.runId, this.first, this.raw, this.count, from);
    this.encoded ??= outputBlock(this.runId, this.first, this.raw, this.count);
    return this.encoded;
  }

  /**
   * The block, from line `from` on, as one `output_block` frame: its header
   * line and the bytes `observe` prints for those lines (see printedBlock),
   * encoded once per format for everyone at this block; null when the block
   * cannot be sent so (a text line with a newline in it: send output()).
   */
  frame(format: PrintFormat, from = 0): Buffer | null {
    if (from > this.first) return this.makeFrame(format, from);
    if (this.framed[format] === undefined) this.framed[format] = this.makeFrame(format, this.first);
    return this.framed[format];
  }

  private makeFrame(format: PrintFormat, from: number): Buffer | null {
    const printed = printedBlock(format, this.first, this.raw, from);
    if (!printed) return null;
    const header = JSON.stringify({ type: 'output_block', run_id: this.runId, from: Math.max(from, this.first), lines: printed.lines, bytes: printed.bytes.length });
    return Buffer.concat([Buffer.from(header + '\n'), printed.bytes]);
  }
}

/**
 * One run's console file, read by the block at line boundaries. A read is
 * shared: every follower asking for the block at the same offset awaits the
 * same read (so followers in step, as live observers are, read and encode
 * each block once), and the last KEEP blocks are kept for followers slightly
 * behind. Nothing else is buffered: a follower further behind reads the file
 * again, and one that stopped reading holds at most the block it was given.
 */
export class ConsoleBlocks {
  private fd: fs.FileHandle | null = null;
  private opening: Promise<fs.FileHandle | null> | null = null;
  private readonly blocks = new Map<number, Promise<ConsoleBlock | null>>();
  private closed = false;
  /** Followers holding this (see acquireConsoleBlocks). */
  users = 0;

  constructor(
    readonly runId: string,
    private readonly path: () => string,
  ) {}

  /**
   * The whole lines stored from byte `offset` on (a line boundary, whose line
   * number is `first`), up to what is on disk now; null when there is no
   * whole line there yet (or the file does not exist yet). `size`: how much
   * to read at most, when the caller knows what is there (a live console's
   * written bytes), so a small block costs a small buffer.
   */
  blockAt(offset: number, first: number, size = BLOCK): Promise<ConsoleBlock | null> {
    const known = this.blocks.get(offset);
    if (known) return known;
    const read = this.read(offset, first, Math.max(1, Math.min(size, BLOCK)));
    this.blocks.set(offset, read);
    // Only a block is kept: "nothing yet" must be asked again.
    void read.then(
      (b) => (b ? undefined : this.forget(offset, read)),
      () => this.forget(offset, read),
    );
    while (this.blocks.size > KEEP) this.blocks.delete(this.blocks.keys().next().value!);
    return read;
  }

  private forget(offset: number, read: Promise<ConsoleBlock | null>): void {
    if (this.blocks.get(offset) === read) this.blocks.delete(offset);
  }

  private async open(): Promise<fs.FileHandle | null> {
    if (this.fd) return this.fd;
    // why keep the handle: a run that ends moves its console from running/ to results/; the handle follows it.
    this.opening ??= fs
      .open(this.path(), 'r')
      .catch(() => null)
      .then((fd) => {
        this.opening = null;
        if (fd && this.closed) void fd.close();
        else if (fd) this.fd = fd;
        return this.fd;
      });
    return this.opening;
  }

  private async read(offset: number, first: number, want: number): Promise<ConsoleBlock | null> {
    const fd = await this.open();
    if (!fd) return null;
    for (let size = want; ; size = Math.max(size * 2, BLOCK)) {
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await fd.read(buf, 0, size, offset);
      // Only the bytes read count: the rest of the buffer is uninitialized.
      const last = buf.subarray(0, bytesRead).lastIndexOf(10);
      if (last < 0) {
        // A line longer than the read: read more at once. Else a line still being written: not yet.
        if (bytesRead === size) continue;
        return null;
      }
      // why copy a small block: the cache must not keep a whole BLOCK alive for a few lines.
      const raw = last + 1 < size / 2 ? Buffer.from(buf.subarray(0, last + 1)) : buf.subarray(0, last + 1);
      let count = 0;
      for (let i = raw.indexOf(10), prev = -1; i >= 0; prev = i, i = raw.indexOf(10, i + 1)) if (i > prev + 1) count++;
      return new ConsoleBlock(this.runId, offset, first, raw, count);
    }
  }

  /** Closes the file and drops the kept blocks. */
  async close(): Promise<void> {
    this.closed = true;
    this.blocks.clear();
    await this.fd?.close().catch(() => undefined);
    this.fd = null;
  }
}

const shared = new WeakMap<object, Map<string, ConsoleBlocks>>();

/**
 * The shared reads of run `runId`'s console for one server (`owner`, its
 * state): the first follower opens them, the others join; each gives them
 * back with releaseConsoleBlocks.
 */
export function acquireConsoleBlocks(owner: object, runId: string, path: () => string): ConsoleBlocks {
  let runs = shared.get(owner);
  if (!runs) shared.set(owner, (runs = new Map()));
  let blocks = runs.get(runId);
  if (!blocks) runs.set(runId, (blocks = new ConsoleBlocks(runId, path)));
  blocks.users++;
  return blocks;
}

/** Gives back what acquireConsoleBlocks gave; the last follower closes the file. */
export async function releaseConsoleBlocks(owner: object, blocks: ConsoleBlocks): Promise<void> {
  if (--blocks.users > 0) return;
  const runs = shared.get(owner);
  if (runs?.get(blocks.runId) === blocks) runs.delete(blocks.runId);
  await blocks.close();
}
