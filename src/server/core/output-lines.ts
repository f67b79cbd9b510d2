// A stored console line is the JSON text of {"t":..,"line":..} as ConsoleLog
// wrote it. An observer's `output` message is the same object with type,
// run_id and n in front, so it is built by splicing bytes instead of a
// JSON.parse and JSON.stringify per line per observer (the field order of a
// JSON object carries no meaning: the decoder reads fields by name).

const STORED_HEAD = Buffer.from('{"t":');

/**
 * The `output` messages, one per line with its newline, for a block of whole
 * stored console lines whose first is line `first`; lines before `from` are
 * left out.
 */
export function outputBlock(runId: string, first: number, block: Buffer, count: number, from = 0): Buffer {
  // A run id is a UUID (checked where it came in): nothing to escape.
  const prefix = Buffer.from(`{"type":"output","run_id":${JSON.stringify(runId)},"n":`);
  const pl = prefix.length;
  let out = Buffer.allocUnsafe(block.length + count * (pl + 17));
  let at = 0;
  let n = first;
  const room = (more: number) => {
    if (at + more <= out.length) return;
    const bigger = Buffer.allocUnsafe(2 * (at + more));
    out.copy(bigger, 0, 0, at);
    out = bigger;
  };
  // Measured: copying the pieces natively beats byte loops and string building here.
  for (let start = 0; start < block.length; ) {
    let end = block.indexOf(10, start);
    if (end < 0) end = block.length;
    if (end > start) {
      if (n >= from) {
        if (isStored(block, start, end)) {
          room(pl + 17 + end - start);
          at += prefix.copy(out, at);
          at += out.write(`${n},`, at, 'latin1');
          at += block.copy(out, at, start + 1, end);
          out[at++] = 10;
        } else {
          // Not in the shape ConsoleLog writes (a hand edit): go through JSON.
          const c = JSON.parse(block.toString('utf8', start, end)) as { t: number; line: string };
          const text = Buffer.from(JSON.stringify({ type: 'output', run_id: runId, n, t: c.t, line: c.line }) + '\n');
          room(text.length);
          at += text.copy(out, at);
        }
      }
      n++;
    }
    start = end + 1;
  }
  return out.subarray(0, at);
}

/** Whether block[start, end) starts with `{"t":` and ends with `"}`, as a line ConsoleLog wrote does. */
function isStored(block: Buffer, start: number, end: number): boolean {
  if (end - start < 8 || block[end - 1] !== 0x7d || block[end - 2] !== 0x22) return false;
  for (let i = 0; i < 5; i++) if (block[start + i] !== STORED_HEAD[i]) return false;
  return true;
}
