import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import type { Cmd, OrigFile } from '../../../src/compat/cmd.js';
import { encodeFrame } from '../../../src/compat/cmd-encode.js';
import { CompatConnection } from '../../../src/compat/compat-connection.js';
import { readJobFinished } from '../../../src/compat/job-finished-reader.js';
import type { Outcome } from '../../../src/protocol/types.js';

// The streamed job_finished reader against the in-memory codec: whatever
// job_finished our encoder writes, reading it off a real socket piece by
// piece gives the same uuid, result and files; a damaged frame fails with
// bad_message and never hands on more bytes than the frame holds.

const sockets: net.Socket[] = [];
const server = net.createServer((s) => pending.shift()?.(s));
const pending: ((s: net.Socket) => void)[] = [];
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
after(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

/** A connected pair: our writer, and the server's side wrapped as a CompatConnection. */
async function pair(): Promise<{ writer: net.Socket; conn: CompatConnection }> {
  const accepted = new Promise<net.Socket>((r) => pending.push(r));
  const writer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const s = await accepted;
  sockets.push(writer, s);
  return { writer, conn: new CompatConnection(s, 'test', { maxFrame: 1 << 20, maxJobFinished: 1 << 26 }) };
}

async function readBack(bytes: Buffer): Promise<{ uuid: string; result: Outcome; files: OrigFile[] }> {
  const { writer, conn } = await pair();
  // Written in small pieces, so headers and data cross reads.
  void (async () => {
    for (let at = 0; at < bytes.length; at += 7) await new Promise<void>((r) => writer.write(bytes.subarray(at, at + 7), () => r()));
    writer.end();
  })();
  try {
    const frame = await conn.readFrame();
    assert.equal(frame.kind, 'job_finished');
    if (frame.kind !== 'job_finished') throw new Error('unreachable');
    let head: { uuid: string; result: Outcome } | null = null;
    const files: OrigFile[] = [];
    await readJobFinished(conn, frame.length, {
      start: (uuid, result) => void (head = { uuid, result }),
      async file(path, size) {
        const parts: Buffer[] = [];
        await conn.readRaw(size, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }));
        files.push({ path, data: Buffer.concat(parts) });
      },
    });
    return { ...head!, files };
  } finally {
    conn.destroy();
  }
}

const jobFinished = fc.record(
  {
    type: fc.constant('job_finished' as const),
    uuid: fc.uuid().map((u) => u.toLowerCase()),
    result: fc.oneof(
      fc.integer({ min: 0, max: 255 }).map((code) => ({ kind: 'exited' as const, code })),
      fc.integer({ min: 1, max: 64 }).map((signal) => ({ kind: 'signalled' as const, signal })),
      fc.string().map((message) => ({ kind: 'failed' as const, message })),
    ),
    files: fc.array(fc.record({ path: fc.string({ minLength: 1, maxLength: 20 }), data: fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)) }, { noNullPrototype: true }), { maxLength: 4 }),
  },
  { noNullPrototype: true },
);

test('the streamed reader hands on exactly what the frame holds', async () => {
  await fc.assert(
    fc.asyncProperty(jobFinished, async (c) => {
      const got = await readBack(encodeFrame(c as Cmd));
      assert.deepEqual(got, { uuid: c.uuid, result: c.result, files: c.files });
    }),
    { numRuns: 60 },
  );
});

test('a damaged job_finished fails with bad_message', async () => {
  await fc.assert(
    fc.asyncProperty(jobFinished, fc.nat(), fc.integer({ min: 0, max: 255 }), async (c, at, b) => {
      const bytes = Buffer.from(encodeFrame(c as Cmd));
      // Damage the DER (not the 8-byte length, not the tag, not a data byte: those may stay valid).
      const i = 9 + (at % (bytes.length - 9));
      if (bytes[i] === b) return;
      bytes[i] = b;
      try {
        await readBack(bytes);
      } catch (e) {
        const code = (e as { code?: string }).code;
        assert.ok(code === 'bad_message' || code === 'connection_closed' || code === 'frame_too_long', String(e));
      }
    }),
    { numRuns: 60 },
  );
});
