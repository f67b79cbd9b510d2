// A stored console line is the JSON text of {"t":..,"line":..} as ConsoleLog
// wrote it. An observer's `output` message is the same object with type,
// run_id and n in front, so it is built by splicing bytes instead of a
// JSON.parse and JSON.stringify per line per observer (the field order of a
// JSON object carries no meaning: the decoder reads fields by name).

/**
 * The `output` messages, one per line with its newline, for a block of whole
 * stored console lines whose first is line `first`; lines before `from` are
 * left out.
 */
export function outputBlock(runId: string, first: number, block: Buffer, count: number, from = 0): Buffer {
  // A run id is a UUID (checked where it came in): nothing to escape.
  const prefix = new Uint8Array(Buffer.from(`{"type":"output","run_id":${JSON.stringify(runId)},"n":`));
  const pl = prefix.length;
  // Measured: plain Uint8Array views and byte loops, not Buffer methods per piece (in Node 20 each
  // Buffer copy of a part makes a typed array, and indexing a Buffer is slower): ~2x faster here.
  const src = new Uint8Array(block.buffer, block.byteOffset, block.length);
  let out: Uint8Array = bytes(block.length + count * (pl + 17));
  let at = 0;
  let n = first;
  for (let start = 0; start < src.length; ) {
    let end = start;
    while (end < src.length && src[end] !== 10) end++;
    if (end > start) {
      if (n >= from) {
        if (isStored(src, start, end)) {
          if (at + pl + 17 + end - start > out.length) out = grown(out, at, pl + 17 + end - start);
          out.set(prefix, at);
          at = writeDecimal(out, at + pl, n);
          out[at++] = 0x2c;
          for (let i = start + 1; i < end; i++) out[at++] = src[i]!;
          out[at++] = 10;
        } else {
          // Not in the shape ConsoleLog writes (a hand edit): go through JSON.
          const c = JSON.parse(block.toString('utf8', start, end)) as { t: number; line: string };
          const text = Buffer.from(JSON.stringify({ type: 'output', run_id: runId, n, t: c.t, line: c.line }) + '\n');
          if (at + text.length > out.length) out = grown(out, at, text.length);
          out.set(text, at);
          at += text.length;
        }
      }
      n++;
    }
    start = end + 1;
  }
  return Buffer.from(out.buffer, out.byteOffset, at);
}

/** A bigger copy of out[0, at), with room for `more` bytes. */
function grown(out: Uint8Array, at: number, more: number): Uint8Array {
  const bigger = bytes(2 * (at + more));
  bigger.set(out.subarray(0, at));
  return bigger;
}

/** `size` uninitialized bytes, as a plain Uint8Array view. */
function bytes(size: number): Uint8Array {
  const b = Buffer.allocUnsafe(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

/** Writes `n` (a non-negative integer) in decimal at `at`; returns the offset after it. */
function writeDecimal(out: Uint8Array, at: number, n: number): number {
  let d = 1;
  while (d * 10 <= n) d *= 10;
  for (;;) {
    out[at++] = 0x30 + (Math.floor(n / d) % 10);
    if (d === 1) return at;
    d /= 10;
  }
}

const STORED_HEAD = new Uint8Array(Buffer.from('{"t":'));

/** Whether block[start, end) starts with `{"t":` and ends with `"}`, as a line ConsoleLog wrote does. */
function isStored(block: Uint8Array, start: number, end: number): boolean {
  return end - start >= 8 && block[end - 1] === 0x7d && block[end - 2] === 0x22 && startsStored(block, start);
}

/** Whether the line at `start` begins with `{"t":`, as a line ConsoleLog wrote does. */
function startsStored(block: Uint8Array, start: number): boolean {
  for (let i = 0; i < STORED_HEAD.length; i++) if (block[start + i] !== STORED_HEAD[i]) return false;
  return true;
}

/** How an observer that asked for printed blocks gets them: `observe`'s plain lines, or its `--json` objects. */
export type PrintFormat = 'text' | 'json';

const LINE_HEAD = new Uint8Array(Buffer.from(',"line":"'));

/**
 * The lines of a block of whole stored console lines (first is line
 * `first`) from line `from` on, exactly as `observe` prints them: each line's
 * text and a newline ('text'), or `{"n","t","line"}` and a newline ('json').
 * Lines in the shape ConsoleLog writes whose text has no quote or backslash
 * are copied byte for byte (its UTF-8 bytes are what printing the string
 * gives); others go through JSON. Null when a text line holds a newline
 * itself, so that a printed block always has one newline per line (the
 * caller then sends that block as `output` messages).
 */
export function printedBlock(format: PrintFormat, first: number, block: Buffer, from = 0): { bytes: Buffer; lines: number } | null {
  const src = new Uint8Array(block.buffer, block.byteOffset, block.length);
  const json = format === 'json';
  // A text line is never longer than it is stored; a JSON one is its `{"n":N,` longer (~20 bytes a line).
  let out: Uint8Array = bytes(json ? block.length + (block.length >> 1) + 64 : block.length + 64);
  // The copy below leaves room for the `"}` and newline that end a line.
  let cap = out.length - 4;
  let at = 0;
  let n = first;
  let lines = 0;
  for (let start = 0; start < src.length; ) {
    if (src[start] === 10) {
      start++;
      continue;
    }
    if (n < from) {
      start = nextLine(src, start);
      n++;
      continue;
    }
    // One pass for a line as ConsoleLog writes it: check its head, then copy its text up to the quote that ends it.
    if (out.length - at < 128) (out = grown(out, at, 4096)), (cap = out.length - 4);
    const mark = at;
    let i = textStart(src, start);
    let done = -1;
    if (i >= 0) {
      if (json) {
        out.set(N_HEAD, at);
        at = writeDecimal(out, at + N_HEAD.length, n);
        out[at++] = 0x2c;
        for (let k = start + 1; k < i; k++) out[at++] = src[k]!;
      }
      for (; i < src.length; i++) {
        const b = src[i]!;
        if (b === 0x22 || b === 0x5c || b === 10) break;
        if (at >= cap) (out = grown(out, at, 4096)), (cap = out.length - 4);
        out[at++] = b;
      }
      // The text ends at a quote followed by `}` and the line's end: copied whole.
      if (src[i] === 0x22 && src[i + 1] === 0x7d && (i + 2 === src.length || src[i + 2] === 10)) done = i + 2;
    }
    if (done >= 0) {
      if (json) (out[at++] = 0x22), (out[at++] = 0x7d);
      out[at++] = 10;
      start = done + 1;
    } else {
      // Escapes, or not in the shape ConsoleLog writes (a hand edit): go through JSON.
      at = mark;
      const end = nextLine(src, start) - 1;
      const c = JSON.parse(block.toString('utf8', start, end)) as { t: unknown; line: unknown };
      if (typeof c.line !== 'string' || typeof c.t !== 'number' || (!json && c.line.includes('\n'))) return null;
      const piece = Buffer.from(json ? JSON.stringify({ n, t: c.t, line: c.line }) + '\n' : c.line + '\n');
      if (at + piece.length + 64 > out.length) (out = grown(out, at, piece.length + 64)), (cap = out.length - 4);
      out.set(piece, at);
      at += piece.length;
      start = end + 1;
    }
    lines++;
    n++;
  }
  return { bytes: Buffer.from(out.buffer, out.byteOffset, at), lines };
}

const N_HEAD = new Uint8Array(Buffer.from('{"n":'));

/** The offset just past the newline ending the line at `start` (or the block's end). */
function nextLine(src: Uint8Array, start: number): number {
  let i = start;
  while (i < src.length && src[i] !== 10) i++;
  return i + 1;
}

/** Where the text of the line at `start` begins when the line starts `{"t":<digits>,"line":"`; -1 otherwise. */
function textStart(src: Uint8Array, start: number): number {
  if (!startsStored(src, start)) return -1;
  let i = start + STORED_HEAD.length;
  const digits = i;
  while (i < src.length && src[i]! >= 0x30 && src[i]! <= 0x39) i++;
  if (i === digits) return -1;
  for (let k = 0; k < LINE_HEAD.length; k++) if (src[i + k] !== LINE_HEAD[k]) return -1;
  return i + LINE_HEAD.length;
}
