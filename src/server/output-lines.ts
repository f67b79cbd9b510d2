import type { ConsoleLine } from '../spool/records.js';

// A stored console line is the JSON text of {"t":..,"line":..} as ConsoleLog
// wrote it. An observer's `output` message is the same object with type,
// run_id and n in front, so it is built by splicing text instead of a
// JSON.parse and JSON.stringify per line per observer (the field order of a
// JSON object carries no meaning: the decoder reads fields by name).


/** The `output` messages (JSON text, no newline) for stored console lines numbered from `first`. */
export function outputLines(runId: string, first: number, stored: string[]): string[] {
  // A run id is a UUID (checked where it came in): no character to escape.
  const prefix = `{"type":"output","run_id":${JSON.stringify(runId)},"n":`;
  const out = new Array<string>(stored.length);
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i]!;
    if (s.startsWith('{"t":') && s.endsWith('"}')) out[i] = `${prefix}${first + i},${s.slice(1)}`;
    else {
      // Not in the shape ConsoleLog writes (a hand edit): go through JSON.
      const c = JSON.parse(s) as ConsoleLine;
      out[i] = JSON.stringify({ type: 'output', run_id: runId, n: first + i, t: c.t, line: c.line });
    }
  }
  return out;
}
