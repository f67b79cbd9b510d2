import { createReadStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import type { Connection } from '../protocol/connection.js';
import type { FoundArtifact } from '../exec/artifacts.js';
import { reason } from '../shared/errors.js';

/**
 * Sends one artifact as its announced frame: exactly the size it had when
 * it was listed, whatever the file does meanwhile (a daemon still writing to
 * it). A file that grew is cut at that size (a console line says so; the
 * outcome stands). A file that shrank, or cannot be read part-way, is
 * padded with zero bytes to keep the stream in step, and the run fails:
 * the result returned is the reason, for the outcome. A file that cannot be
 * opened is not sent at all (a console line says so). Rejects only when the
 * connection fails.
 */
export async function sendArtifact(conn: Connection, runId: string, a: FoundArtifact, console?: (line: string) => Promise<void>): Promise<string | null> {
  // `console`: the run's numbered output (attempt.ts), so the line keeps its place in a resumed run.
  const say = (line: string) => (console ? console(`builder-worker: ${line}`) : conn.send({ type: 'output', run_id: runId, t: 0, line: `builder-worker: ${line}` }));
  try {
    // Opened first so that a file that vanished is reported, not sent as zero bytes.
    await (await fs.open(a.full, 'r')).close();
  } catch (e) {
    await say(`cannot read artifact ${a.path}: ${reason(e)}; not sent`);
    return null;
  }
  const body = a.size === 0 ? Readable.from([]) : createReadStream(a.full, { start: 0, end: a.size - 1, highWaterMark: 1 << 20 });
  const { sent, error } = await conn.sendFrame({ type: 'artifact', run_id: runId, path: a.path, size: a.size, mode: a.mode }, body, a.size);
  if (error) {
    const why = `artifact ${a.path} could not be read after ${sent} of ${a.size} bytes: ${reason(error)} (the rest was sent as zero bytes)`;
    await say(why);
    return why;
  }
  const now = await fs.stat(a.full).then((st) => st.size, () => 0);
  if (sent < a.size) {
    const why = `artifact ${a.path} shrank from ${a.size} to ${now} bytes while it was sent (padded with zero bytes)`;
    await say(why);
    return why;
  }
  if (now > a.size) await say(`artifact ${a.path} grew to ${now} bytes while it was sent; sent its first ${a.size} bytes`);
  return null;
}
