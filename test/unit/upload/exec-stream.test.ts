import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { BuilderError } from '../../../src/shared/errors.js';
import { decodeExec } from '../../../src/upload/exec-decode.js';
import { encodeExec } from '../../../src/upload/exec-encode.js';
import type { ExecArtifact, ExecRun } from '../../../src/upload/exec-run.js';

const MiB = 1024 * 1024;

function runWith(artifacts: ExecArtifact[]): ExecRun {
  return {
    job: { name: 'big', script: 'true', files: [], platform: 'linux' },
    uuid: '00000000-0000-4000-8000-000000000000',
    console: [{ delta: 1, line: 'one line' }],
    started: { seconds: 0, fraction: '' },
    finished: { seconds: 1, fraction: '' },
    result: { kind: 'exited', code: 0 },
    artifacts,
  };
}

test('a 64 MiB artifact streams through body() without the encoder holding it', async () => {
  const size = 64 * MiB;
  const chunk = Buffer.alloc(64 * 1024, 0xab);
  let produced = 0;
  // One reused chunk: fresh garbage per chunk would make the memory figure
  // measure the GC's timing instead of what the encoder keeps alive.
  async function* source(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < size; sent += chunk.length) {
      produced += chunk.length;
      yield chunk;
    }
  }
  const encoded = encodeExec(runWith([{ path: 'bin/huge', size, open: () => Readable.from(source()) }]));
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakBuffers = before.arrayBuffers;
  let total = 0;
  let maxLag = 0;
  const started = Date.now();
  for await (const b of encoded.body()) {
    // Bytes the source produced before this chunk came out, minus those already out:
    // what sits buffered in between (the artifact is the last field of the blob).
    maxLag = Math.max(maxLag, produced - (total - (encoded.length - size)));
    total += b.length;
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  }
  assert.equal(total, encoded.length);
  assert.ok(maxLag <= 2 * MiB, `at most a few chunks in flight, saw ${maxLag} bytes`);
  assert.ok(peakBuffers - before.arrayBuffers < 16 * MiB, `buffers grew ${(peakBuffers - before.arrayBuffers) / MiB} MiB`);
  assert.ok(peakRss - before.rss < 48 * MiB, `rss grew ${(peakRss - before.rss) / MiB} MiB`);
  assert.ok(Date.now() - started < 5000, 'quick');
});

async function drain(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const b of body) n += b.length;
  return n;
}

test('an artifact shorter than announced fails the body, naming the path', async () => {
  const encoded = encodeExec(runWith([{ path: 'bin/short', size: 10, open: () => Readable.from([Buffer.alloc(8)]) }]));
  await assert.rejects(drain(encoded.body()), (err: unknown) => {
    assert.ok(err instanceof BuilderError);
    assert.equal(err.code, 'artifact_changed');
    assert.match(err.message, /artifact bin\/short yielded 8 bytes, not the announced 10/);
    return true;
  });
});

test('an artifact longer than announced fails before a byte past its length is sent', async () => {
  const encoded = encodeExec(runWith([{ path: 'bin/long', size: 5, open: () => Readable.from([Buffer.alloc(3), Buffer.alloc(3)]) }]));
  let sent = 0;
  await assert.rejects(
    (async () => {
      for await (const b of encoded.body()) sent += b.length;
    })(),
    /artifact bin\/long yielded more than the announced 5 bytes/,
  );
  assert.ok(sent < encoded.length, 'never more than the announced length');
});

test('an artifact that cannot be read fails the body with the path and the reason', async () => {
  const encoded = encodeExec(runWith([{ path: 'gone', size: 1, open: () => createReadStream('/nonexistent/builder-test') }]));
  await assert.rejects(drain(encoded.body()), (err: unknown) => {
    assert.ok(err instanceof BuilderError);
    assert.equal(err.code, 'artifact_read');
    assert.equal(err.message, 'cannot read artifact gone: no such file or directory');
    return true;
  });
});

test('encodeExec computes the length without opening any artifact', () => {
  let opened = 0;
  const open = (): Readable => {
    opened++;
    return Readable.from([]);
  };
  const encoded = encodeExec(runWith([{ path: 'a', size: 5 * 1024 ** 3, open }]));
  assert.ok(encoded.length > 5 * 1024 ** 3);
  assert.equal(opened, 0);
});

test('encodeExec rejects a run id that is not a UUID', () => {
  assert.throws(() => encodeExec({ ...runWith([]), uuid: 'run-42' }), /uuid "run-42" is not canonical UUID text/);
});

test('chunk edges can fall inside any field: a long console of varied lines round-trips', async () => {
  // 20k lines of 0..96 characters, some multi-byte, shift every chunk edge to a different spot.
  const lines = Array.from({ length: 20_000 }, (_, i) => ({ delta: i * 7919, line: 'é'.repeat(i % 5) + 'x'.repeat(i % 97) }));
  const run: ExecRun = { ...runWith([]), console: lines };
  const encoded = encodeExec(run);
  const chunks: Buffer[] = [];
  for await (const b of encoded.body()) chunks.push(b);
  const der = Buffer.concat(chunks);
  assert.ok(chunks.length > 10, `${chunks.length} chunks`);
  assert.ok(chunks.every((c) => c.length <= 64 * 1024));
  assert.equal(der.length, encoded.length);
  const back = decodeExec(der).console.map((l) => ({ delta: l.delta, line: l.line.toString('utf8') }));
  assert.deepEqual(back, lines);
});
