import { BuilderError, reason } from '../shared/errors.js';
import { HEADER_MAX, TAG, contextTag, elementSize, integerOctets, writeHeader } from './der.js';
import type { ExecArtifact, ExecFile, ExecResult, ExecRun, ExecTime, Text } from './exec-run.js';

// Streaming DER encoder for Exec. The run becomes a small tree whose nodes
// know their content length up front; artifact contents are leaves that only
// announce a size. body() walks the tree, batching headers and small fields
// into chunks and passing artifact chunks straight through, so memory stays
// bounded by the console and one chunk, whatever the artifacts weigh.

/** An encoded run: its exact byte length, and the bytes on demand. */
export interface EncodedExec {
  length: number;
  /** Yields the DER bytes; each call re-reads the artifacts, so it can be retried. */
  body(): AsyncIterable<Buffer>;
}

type Node =
  | { tag: number; size: number; bytes: Buffer }
  | { tag: number; size: number; text: string }
  | { tag: number; size: number; children: Node[]; streams: boolean }
  | { tag: number; size: number; artifact: ExecArtifact };

const CHUNK = 64 * 1024;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Computes every length from the run (console lines, artifact sizes); reads no artifact yet. */
export function encodeExec(run: ExecRun): EncodedExec {
  const root = cons(contextTag(0), [runNode(run)]);
  const length = elementSize(root.size);
  return {
    length,
    async *body() {
      const batch = new Batch();
      yield* emit(root, batch);
      yield* batch.take(true);
    },
  };
}

function runNode(run: ExecRun): Node {
  if (!UUID_RE.test(run.uuid)) throw bad(run, `uuid ${JSON.stringify(run.uuid)} is not canonical UUID text`);
  const job = run.job;
  const jobFields = [utf8(job.name), utf8(job.script), files(job.files)];
  if (job.platform !== null) jobFields.push(utf8(job.platform));
  // The original stores the console newest line first; ExecRun keeps reading order.
  const console = run.console.map((l) => cons(TAG.sequence, [integer(run, l.delta, 'console delta'), utf8(l.line)]));
  console.reverse();
  return cons(TAG.sequence, [
    cons(TAG.sequence, jobFields),
    prim(TAG.utf8, Buffer.from(run.uuid.replaceAll('-', ''), 'hex')),
    cons(TAG.sequence, console),
    cons(TAG.sequence, [time(run, run.started), time(run, run.finished)]),
    result(run, run.result),
    cons(TAG.sequence, run.artifacts.map(artifactNode)),
  ]);
}

function result(run: ExecRun, r: ExecResult): Node {
  switch (r.kind) {
    case 'exited':
      return cons(contextTag(0), [integer(run, r.code, 'exit code')]);
    case 'signalled':
      return cons(contextTag(1), [integer(run, r.signal, 'signal')]);
    case 'stopped':
      return cons(contextTag(2), [integer(run, r.signal, 'signal')]);
    case 'failed':
      return cons(contextTag(3), [utf8(r.message)]);
  }
}

function files(list: ExecFile[]): Node {
  return cons(TAG.sequence, list.map((f) => cons(TAG.sequence, [utf8(f.path), prim(TAG.utf8, f.data)])));
}

function artifactNode(a: ExecArtifact): Node {
  if (!Number.isSafeInteger(a.size) || a.size < 0) throw new RangeError(`artifact ${textOf(a.path)}: bad size ${a.size}`);
  return cons(TAG.sequence, [utf8(a.path), { tag: TAG.utf8, size: a.size, artifact: a }]);
}

/** GeneralizedTime as the original writes it: YYYYMMDDHHMMSS, '.' and the kept digits, 'Z'. */
function time(run: ExecRun, t: ExecTime): Node {
  const d = new Date(t.seconds * 1000);
  const year = d.getUTCFullYear();
  if (!Number.isSafeInteger(t.seconds) || !/^\d*$/.test(t.fraction) || year < 0 || year > 9999) {
    throw bad(run, `time ${JSON.stringify(t)} cannot be written as GeneralizedTime`);
  }
  const two = (n: number): string => String(n).padStart(2, '0');
  const text =
    String(year).padStart(4, '0') +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes()) +
    two(d.getUTCSeconds()) +
    (t.fraction === '' ? '' : `.${t.fraction}`) +
    'Z';
  return prim(TAG.generalizedTime, Buffer.from(text, 'latin1'));
}

function integer(run: ExecRun, v: number, what: string): Node {
  if (!Number.isSafeInteger(v)) throw bad(run, `${what} ${v} is not an integer`);
  return prim(TAG.integer, integerOctets(v));
}

function utf8(t: Text): Node {
  // Strings are measured now and written straight into the chunk later: no Buffer per console line.
  return typeof t === 'string' ? { tag: TAG.utf8, size: Buffer.byteLength(t, 'utf8'), text: t } : prim(TAG.utf8, t);
}

function prim(tag: number, bytes: Buffer): Node {
  return { tag, size: bytes.length, bytes };
}

function cons(tag: number, children: Node[]): Node {
  const size = children.reduce((n, c) => n + elementSize(c.size), 0);
  return { tag, size, children, streams: children.some((c) => 'artifact' in c || ('streams' in c && c.streams)) };
}

async function* emit(node: Node, batch: Batch): AsyncGenerator<Buffer> {
  batch.header(node.tag, node.size);
  if ('bytes' in node) {
    batch.add(node.bytes);
  } else if ('text' in node) {
    batch.addText(node.text, node.size);
  } else if ('children' in node) {
    for (const child of node.children) {
      // Small subtrees without an artifact are written synchronously (a generator
      // per console line is slow); big ones are walked so chunks stay near CHUNK.
      if ('artifact' in child || ('streams' in child && child.streams) || child.size >= CHUNK) yield* emit(child, batch);
      else write(child, batch);
      yield* batch.take();
    }
  } else {
    yield* batch.take(true);
    yield* streamArtifact(node.artifact);
  }
}

function write(node: Node, batch: Batch): void {
  batch.header(node.tag, node.size);
  if ('bytes' in node) batch.add(node.bytes);
  else if ('text' in node) batch.addText(node.text, node.size);
  else if ('children' in node) for (const child of node.children) write(child, batch);
}

/** Passes an artifact's chunks through, failing the moment its length disagrees with its announced size. */
async function* streamArtifact(a: ExecArtifact): AsyncGenerator<Buffer> {
  let seen = 0;
  try {
    for await (const chunk of a.open()) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array | string);
      seen += buf.length;
      // Stop before sending a byte past the announced length: the receiver trusts it.
      if (seen > a.size) throw changed(a, `more than the announced ${a.size} bytes`);
      yield buf;
    }
  } catch (err) {
    if (err instanceof BuilderError) throw err;
    throw new BuilderError('artifact_read', `cannot read artifact ${textOf(a.path)}: ${reason(err)}`, { cause: err });
  }
  if (seen !== a.size) throw changed(a, `${seen} bytes, not the announced ${a.size}`);
}

function changed(a: ExecArtifact, what: string): BuilderError {
  return new BuilderError(
    'artifact_changed',
    `artifact ${textOf(a.path)} yielded ${what} (was it changed after the run finished?)`,
  );
}

function bad(run: ExecRun, problem: string): BuilderError {
  return new BuilderError('bad_run', `cannot encode run ${run.uuid}: ${problem}`);
}

function textOf(t: Text): string {
  return typeof t === 'string' ? t : t.toString('utf8');
}

/**
 * Packs headers and small fields into CHUNK-sized buffers (copying beats
 * allocating a Buffer per header); big fields pass through uncopied. A chunk
 * is never written to after take() hands it out, as the consumer may hold it.
 */
class Batch {
  private chunk: Buffer | null = null;
  private used = 0;
  private ready: Buffer[] = [];

  header(tag: number, n: number): void {
    const chunk = this.room(HEADER_MAX);
    this.used = writeHeader(chunk, this.used, tag, n);
  }

  add(b: Buffer): void {
    if (b.length >= CHUNK / 4) {
      this.seal();
      this.ready.push(b);
      return;
    }
    const chunk = this.room(b.length); // may start a new chunk: read `used` after it
    this.used += b.copy(chunk, this.used);
  }

  /** Adds a string as UTF-8; `size` is its byte length, measured when the tree was built. */
  addText(text: string, size: number): void {
    if (size >= CHUNK / 4) return this.add(Buffer.from(text, 'utf8'));
    const chunk = this.room(size);
    this.used += chunk.write(text, this.used, 'utf8');
  }

  /** Hands out the full chunks; with `all`, the partly filled one too. */
  take(all = false): Buffer[] {
    if (all) this.seal();
    const out = this.ready;
    this.ready = [];
    return out;
  }

  private room(n: number): Buffer {
    if (this.chunk === null || this.used + n > CHUNK) {
      this.seal();
      this.chunk = Buffer.allocUnsafe(CHUNK);
    }
    return this.chunk;
  }

  private seal(): void {
    if (this.chunk !== null && this.used > 0) this.ready.push(this.chunk.subarray(0, this.used));
    this.chunk = null;
    this.used = 0;
  }
}
