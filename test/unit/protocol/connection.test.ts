import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { Connection } from '../../../src/protocol/connection.js';

async function pair(maxLine?: number): Promise<{ a: Connection; b: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const b = net.connect(port, '127.0.0.1');
  const a = new Connection(await accepted, 'peer', maxLine);
  return { a, b, close: () => (b.destroy(), server.close()) };
}

test('lines split across chunks and several lines in one chunk are read in order', async () => {
  const { a, b, close } = await pair();
  b.write('{"a":');
  b.write('1}\n{"b":2}\n{"c"');
  b.write(':3}\n');
  assert.equal(await a.readLine(), '{"a":1}');
  assert.equal(await a.readLine(), '{"b":2}');
  assert.equal(await a.readLine(), '{"c":3}');
  close();
});

test('raw bytes after an announcing line go to the sink exactly, and lines resume after them', async () => {
  const { a, b, close } = await pair();
  const payload = Buffer.alloc(300_000, 7);
  b.write(Buffer.concat([Buffer.from('{"type":"artifact"}\n'), payload, Buffer.from('{"type":"next"}\n')]));
  assert.equal(await a.readLine(), '{"type":"artifact"}');
  const sink = new PassThrough();
  const got: Buffer[] = [];
  sink.on('data', (d: Buffer) => got.push(d));
  await a.readRaw(payload.length, sink);
  assert.ok(Buffer.concat(got).equals(payload));
  assert.equal(await a.readLine(), '{"type":"next"}');
  close();
});

test('a line over the limit is an error, not a growing buffer', async () => {
  const { a, b, close } = await pair(1000);
  b.write('x'.repeat(5000));
  await assert.rejects(a.readLine(), /longer than 1000 bytes/);
  close();
});

test('a closed connection fails the pending read with the reason', async () => {
  const { a, b, close } = await pair();
  const pending = a.readLine();
  b.end();
  await assert.rejects(pending, /closed the connection/);
  close();
});

test('a line spread over many chunks is read whole, also when longer than 1 MiB under a larger limit', async () => {
  const { a, b, close } = await pair(8 << 20);
  const long = 'y'.repeat(3 << 20);
  for (let i = 0; i < long.length; i += 50_000) b.write(long.slice(i, i + 50_000));
  b.write('\n{"after":1}\n');
  assert.equal((await a.readLine()).length, long.length);
  assert.equal(await a.readLine(), '{"after":1}');
  close();
});

test('hasLine tells whether readLine would return at once', async () => {
  const { a, b, close } = await pair();
  assert.equal(a.hasLine(), false);
  b.write('{"a":1}\n{"b"');
  await new Promise<void>((r) => setTimeout(r, 50));
  assert.equal(a.hasLine(), true);
  await a.readLine();
  assert.equal(a.hasLine(), false, 'only half a line is left');
  close();
});

/** Reads lines the peer `b` receives from `a` until `n` arrived. */
function receive(b: net.Socket, n: number): Promise<string[]> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const lines = text.split('\n').slice(0, -1);
      if (lines.length >= n) {
        b.off('data', onData);
        resolve(lines);
      }
    };
    b.on('data', onData);
  });
}

test('sendBatch and sendSoon keep the order of every message, with send in between', async () => {
  const { a, b, close } = await pair();
  const got = receive(b, 6);
  void a.sendSoon({ i: 1 });
  void a.sendSoon({ i: 2 });
  void a.send({ i: 3 });
  void a.sendBatch([{ i: 4 }, '{"i":5}']);
  await a.sendSoon({ i: 6 });
  assert.deepEqual((await got).map((l) => JSON.parse(l).i), [1, 2, 3, 4, 5, 6]);
  close();
});

test('sendSoon makes the sender wait once a batch is big and the peer does not read, and fails once closed', async () => {
  const { a, b, close } = await pair();
  b.pause();
  const line = 'z'.repeat(1000);
  let waited = false;
  // The peer reads nothing: the kernel buffers fill, then sendSoon's promise stays pending.
  for (let i = 0; i < 100_000 && !waited; i++) {
    const p = a.sendSoon({ line });
    const first = await Promise.race([p.then(() => 'sent'), new Promise((r) => setTimeout(() => r('waiting'), 200))]);
    if (first === 'waiting') waited = true;
  }
  assert.ok(waited, 'a peer that does not read holds the sender back');
  b.destroy();
  await a.closed;
  await assert.rejects(a.sendSoon({ line }), /closed|ECONNRESET/);
  close();
});
