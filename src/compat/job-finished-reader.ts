import type { Outcome } from '../protocol/types.js';
import { BuilderError, reason } from '../shared/errors.js';
import { DerReader, TAG, contextTag, derError, lengthOctets, tagName } from '../upload/der.js';
import { result } from './cmd-decode.js';
import type { CompatConnection } from './compat-connection.js';

// Streams the one big frame of an original worker,
//   job_finished ::= [3] SEQUENCE { uuid, result, data SEQUENCE OF SEQUENCE { path, data } }
// straight off the connection: the headers and small fields are read as
// they come, and each file's bytes are handed to `file()` to move to disk,
// so memory stays bounded by one header whatever the artifacts weigh.

/** What the reader hands on, in order: the run and its result, then each file (which must consume exactly `size` bytes). */
export interface JobFinishedSink {
  start(uuid: string, result: Outcome): void;
  file(path: string, size: number): Promise<void>;
}

/** The most bytes a path or a result may take (they are read into memory). */
const MAX_SMALL = 64 * 1024;

/** Reads the rest of a job_finished frame of `length` bytes whose tag byte was read; a malformed one throws bad_message. */
export async function readJobFinished(conn: CompatConnection, length: number, sink: JobFinishedSink): Promise<void> {
  const r = new FrameCursor(conn, length);
  try {
    r.pos = 1;
    const outer = await r.length('job_finished');
    r.expectEnd(outer, length, 'job_finished');
    const seq = await r.header(TAG.sequence, 'job_finished SEQUENCE');
    r.expectEnd(seq, length, 'job_finished SEQUENCE');
    const id = await r.small(TAG.utf8, 'uuid');
    if (id.content.length !== 16) derError(id.offset, 'uuid', `${id.content.length} bytes, a UUID has 16`);
    const h = id.content.toString('hex');
    const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    const res = await r.small(null, 'result');
    const outcome = result(new DerReader(res.whole), 'result');
    const data = await r.header(TAG.sequence, 'data');
    r.expectEnd(data, length, 'data');
    sink.start(uuid, outcome);
    while (r.pos < data.end) {
      const file = await r.header(TAG.sequence, 'data file');
      const path = await r.small(TAG.utf8, 'data path');
      const bytes = await r.header(TAG.utf8, 'data bytes');
      r.expectEnd(bytes, file.end, 'data file');
      await sink.file(path.content.toString('utf8'), bytes.end - r.pos);
      r.pos = bytes.end;
    }
  } catch (e) {
    if (e instanceof BuilderError && e.code === 'bad_der') throw new BuilderError('bad_message', `${conn.peer} sent a job_finished that is not valid: ${reason(e)}`);
    throw e;
  }
}

/** A header as read: its tag, where it starts, and where its content ends (offsets in the frame). */
interface Header {
  tag: number;
  offset: number;
  end: number;
}

/** Reads DER headers and small elements off the connection, counting offsets within the frame. */
class FrameCursor {
  pos = 0;

  constructor(
    private readonly conn: CompatConnection,
    private readonly frameLength: number,
  ) {}

  private async byte(what: string): Promise<number> {
    if (this.pos >= this.frameLength) derError(this.pos, what, 'missing: the frame ends here');
    const b = (await this.conn.readBytes(1))[0]!;
    this.pos++;
    return b;
  }

  /** Reads length octets (after a tag), strict DER; returns where the content ends. */
  async length(what: string): Promise<number> {
    const at = this.pos;
    const first = await this.byte(what);
    let n = first;
    if (first >= 0x80) {
      const count = first & 0x7f;
      if (count === 0) derError(at, what, 'indefinite length is not DER');
      if (count > 6) derError(at, what, `length of ${count} octets is too large`);
      n = 0;
      for (let i = 0; i < count; i++) {
        const b = await this.byte(what);
        if (i === 0 && b === 0) derError(at, what, 'length is not in its shortest form');
        n = n * 256 + b;
      }
      if (n < 0x80) derError(at, what, 'length is not in its shortest form');
    }
    if (this.pos + n > this.frameLength) derError(at, what, `declares ${n} bytes but only ${this.frameLength - this.pos} remain in the frame`);
    return this.pos + n;
  }

  /** Reads a tag (which must be `tag`) and its length. */
  async header(tag: number, what: string): Promise<Header> {
    const offset = this.pos;
    const t = await this.byte(what);
    if (t !== tag) derError(offset, what, `expected ${tagName(tag)}, found ${tagName(t)}`);
    return { tag: t, offset, end: await this.length(what) };
  }

  /** Reads a whole small element (any tag when `tag` is null): its content, and its bytes with the header. */
  async small(tag: number | null, what: string): Promise<{ offset: number; content: Buffer; whole: Buffer }> {
    const offset = this.pos;
    const t = await this.byte(what);
    if (tag !== null && t !== tag) derError(offset, what, `expected ${tagName(tag)}, found ${tagName(t)}`);
    if (tag === null && (t < contextTag(0) || t > contextTag(3))) derError(offset, what, `expected one of [0] to [3], found ${tagName(t)}`);
    const end = await this.length(what);
    if (end - this.pos > MAX_SMALL) derError(offset, what, `${end - this.pos} bytes, more than ${MAX_SMALL}`);
    const content = await this.conn.readBytes(end - this.pos);
    this.pos = end;
    return { offset, content, whole: Buffer.concat([Buffer.from([t]), lengthOctets(content.length), content]) };
  }

  /** Fails unless an element ends exactly where its container does. */
  expectEnd(h: Header | number, end: number, what: string): void {
    const e = typeof h === 'number' ? h : h.end;
    if (e !== end) derError(typeof h === 'number' ? this.pos : h.offset, what, `ends at byte ${e}, its container at byte ${end}`);
  }
}
