import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

// SHA-256 of artifacts off the main thread: one shared worker thread hashes
// copies of the chunks as they are written, so a 1 GiB artifact costs the
// event loop a memcpy per chunk instead of the hash itself (~0.8 s of CPU
// per GiB), and the hash runs on another core beside the disk writes.
// Backpressure: a writer waits while more than BACKLOG bytes of its chunks
// are not hashed yet. If the thread cannot run, hashing falls back to the
// main thread (same digests, only slower).

const BACKLOG = 32 << 20;

const THREAD = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    h.update(new Uint8Array(m.bytes));
    parentPort.postMessage({ id: m.id, done: m.bytes.byteLength });
  } else {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  }
});`;

interface Pending {
  backlog: number;
  drained: (() => void)[];
  digest: ((hex: string) => void) | null;
}

let thread: Worker | null = null;
let broken = false;
let nextId = 1;
const pending = new Map<number, Pending>();

function startThread(): Worker | null {
  if (broken) return null;
  if (thread) return thread;
  try {
    thread = new Worker(THREAD, { eval: true });
  } catch {
    broken = true;
    return null;
  }
  thread.on('message', (m: { id: number; done?: number; hex?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    if (m.done !== undefined) {
      p.backlog -= m.done;
      if (p.backlog <= BACKLOG) for (const f of p.drained.splice(0)) f();
    } else if (m.hex !== undefined) {
      pending.delete(m.id);
      if (pending.size === 0) thread?.unref();
      p.digest?.(m.hex);
    }
  });
  thread.on('error', () => {
    // Hashes in flight are lost: their writers get null and record no sha256.
    broken = true;
    thread = null;
    for (const p of pending.values()) {
      for (const f of p.drained.splice(0)) f();
      p.digest?.('');
    }
    pending.clear();
  });
  // The thread keeps the process alive only while a hash is in progress.
  thread.unref();
  return thread;
}

/** A running SHA-256 of one artifact's bytes. */
export interface StreamHash {
  /** Hashes a copy of `chunk` (the caller may reuse the buffer at once). */
  update(chunk: Buffer): void;
  /** Resolves once the unhashed backlog is small enough to write on. */
  room(): Promise<void> | null;
  /** The hex digest of everything updated, or null when the hashing thread failed meanwhile. */
  digest(): Promise<string | null>;
}

/** Starts hashing one artifact (on the shared thread, or in-line when it cannot run). */
export function streamHash(): StreamHash {
  const t = startThread();
  if (!t) return inline(createHash('sha256'));
  const id = nextId++;
  const p: Pending = { backlog: 0, drained: [], digest: null };
  pending.set(id, p);
  t.ref();
  let failed = false;
  return {
    update(chunk) {
      if (!pending.has(id)) return void (failed = true);
      // A copy of exactly the chunk's bytes, transferred: the socket's buffer may be shared with other views.
      const bytes = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength);
      p.backlog += bytes.byteLength;
      t.postMessage({ op: 'update', id, bytes }, [bytes as ArrayBuffer]);
    },
    room() {
      return p.backlog > BACKLOG && pending.has(id) ? new Promise<void>((r) => p.drained.push(r)) : null;
    },
    digest() {
      if (!pending.has(id) || failed) return Promise.resolve(null);
      return new Promise((resolve) => {
        p.digest = (hex) => resolve(hex || null);
        t.postMessage({ op: 'digest', id });
      });
    },
  };
}

function inline(h: Hash): StreamHash {
  return {
    update: (chunk) => void h.update(chunk),
    room: () => null,
    digest: () => Promise.resolve(h.digest('hex')),
  };
}
