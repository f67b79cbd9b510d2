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
