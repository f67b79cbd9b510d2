import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as asn1js from 'asn1js';
import { encodeExec } from '../../../src/upload/exec-encode.js';
import { decodeExec, execRunOfDecoded } from '../../../src/upload/exec-decode.js';
import type { ExecRun, ExecTime } from '../../../src/upload/exec-run.js';

// An independent decoder reads what our encoder streamed, field by field,
// and must find exactly the run we put in.

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(b);
  return Buffer.concat(parts);
}

type Block = asn1js.AsnType;
const raw = (b: Block): Buffer => Buffer.from((b as asn1js.Utf8String).valueBlock.valueHexView);
const kids = (b: Block): Block[] => (b as asn1js.Constructed).valueBlock.value as Block[];
const bytes = (t: string | Buffer): Buffer => (typeof t === 'string' ? Buffer.from(t) : t);

function expectTag(b: Block, cls: number, number: number, where: string): void {
  assert.deepEqual([b.idBlock.tagClass, b.idBlock.tagNumber], [cls, number], where);
}

function timeText(t: ExecTime): string {
  const d = new Date(t.seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${d}${t.fraction ? `.${t.fraction}` : ''}Z`;
}

/** Parses `der` with asn1js and compares every field with `run` (artifact data given separately). */
function compare(der: Buffer, run: ExecRun, data: Buffer[]): void {
  // asn1js caps nodes at 10k by default (a guard for untrusted input); a long console has more.
  const parsed = asn1js.fromBER(new Uint8Array(der), { maxNodes: 1_000_000 });
  assert.equal(parsed.offset, der.length, `asn1js consumed every byte (${parsed.result.error})`);
  const exec = parsed.result;
  expectTag(exec, 3, 0, 'Exec is [0]');
  const [runSeq] = kids(exec);
  const [job, uuid, consoleSeq, stamps, result, output] = kids(runSeq!) as [Block, Block, Block, Block, Block, Block];
  assert.equal(kids(runSeq!).length, 6);

  const [name, script, files, platform, ...extra] = kids(job);
  assert.ok(name instanceof asn1js.Utf8String && script instanceof asn1js.Utf8String);
  assert.ok(raw(name!).equals(bytes(run.job.name)) && raw(script!).equals(bytes(run.job.script)));
  assert.ok(files instanceof asn1js.Sequence);
  assert.equal(kids(files!).length, 0);
  if (run.job.platform === null) assert.equal(platform, undefined);
  else assert.ok(raw(platform!).equals(bytes(run.job.platform)));
  assert.equal(extra.length, 0);

  assert.ok(uuid instanceof asn1js.Utf8String);
  assert.equal(raw(uuid).toString('hex'), run.uuid.replaceAll('-', ''));

  const lines = kids(consoleSeq).map((l) => {
    const [delta, line] = kids(l) as [asn1js.Integer, Block];
    assert.ok(delta instanceof asn1js.Integer && line instanceof asn1js.Utf8String);
    return { delta: Number(delta.toBigInt()), line: raw(line).toString('hex') };
  });
  const expected = run.console.map((l) => ({ delta: l.delta, line: bytes(l.line).toString('hex') })).reverse();
  assert.deepEqual(lines, expected, 'console, newest line first');

  const [started, finished] = kids(stamps) as [Block, Block];
  assert.ok(started instanceof asn1js.GeneralizedTime && finished instanceof asn1js.GeneralizedTime);
  assert.equal(raw(started).toString('latin1'), timeText(run.started));
  assert.equal(raw(finished).toString('latin1'), timeText(run.finished));
  assert.equal(started.toDate().getTime(), run.started.seconds * 1000 + Number(run.started.fraction.padEnd(3, '0').slice(0, 3)));

  const choice = ['exited', 'signalled', 'stopped', 'failed'].indexOf(run.result.kind);
  expectTag(result, 3, choice, 'result choice');
  const [value] = kids(result);
  if (run.result.kind === 'failed') assert.ok(raw(value!).equals(bytes(run.result.message)));
  else {
    assert.ok(value instanceof asn1js.Integer);
    assert.equal(Number(value.toBigInt()), run.result.kind === 'exited' ? run.result.code : run.result.signal);
  }

  const outs = kids(output).map((f) => kids(f).map((x) => raw(x).toString('hex')));
  assert.deepEqual(outs, run.artifacts.map((a, i) => [bytes(a.path).toString('hex'), data[i]!.toString('hex')]));
}

function run(over: Partial<ExecRun>, data: Buffer[]): ExecRun {
  return {
    job: { name: 'asn1-check', script: '#!/bin/sh\necho ok\n', files: [], platform: 'freebsd-14' },
    uuid: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
    console: [
      { delta: 0, line: 'first' },
      { delta: 127, line: Buffer.from([0xff, 0xfe, 0x00]) },
      { delta: 2 ** 40, line: 'résumé ✓' },
    ],
    started: { seconds: 1_700_000_000, fraction: '5' },
    finished: { seconds: 1_700_000_123, fraction: '' },
    result: { kind: 'exited', code: 0 },
    artifacts: data.map((d, i) => ({ path: `out/file-${i}`, size: d.length, open: () => Readable.from([d]) })),
    ...over,
  };
}

const cases: [string, Partial<ExecRun>, Buffer[]][] = [
  ['exited 0 with artifacts, big deltas and raw bytes', {}, [Buffer.alloc(300, 7), Buffer.from('x'), Buffer.alloc(0)]],
  ['signalled with a negative number (OCaml signal numbers)', { result: { kind: 'signalled', signal: -7 } }, []],
  ['stopped, no platform', { result: { kind: 'stopped', signal: 19 }, job: { name: 'n', script: '', files: [], platform: null } }, []],
  ['failed with a message and a long console', {
    result: { kind: 'failed', message: 'timed out after 3600 s' },
    console: Array.from({ length: 500 }, (_, i) => ({ delta: i * 1_000_003, line: `line ${i}` })),
  }, [Buffer.alloc(70_000, 1)]],
  // Spans many output chunks: headers and small fields packed across chunk edges, big fields passed through.
  ['a console and script far larger than one chunk', {
    job: { name: 'big', script: 'x'.repeat(200_000), files: [], platform: 'p' },
    console: Array.from({ length: 6_000 }, (_, i) => ({ delta: i * 997, line: i % 1000 === 0 ? 'y'.repeat(20_000) : `line ${i}` })),
  }, [Buffer.alloc(5, 2), Buffer.alloc(100_000, 3), Buffer.alloc(16_384, 4)]],
];

for (const [title, over, data] of cases) {
  test(`asn1js reads every field of our streamed output: ${title}`, async () => {
    const r = run(over, data);
    const encoded = encodeExec(r);
    const der = await collect(encoded.body());
    assert.equal(der.length, encoded.length, 'announced length');
    compare(der, r, data);
  });
}

test('asn1js agrees with our decoder on every original fixture', async () => {
  const dir = fileURLToPath(new URL('../../../../test/fixtures/builder-full/', import.meta.url));
  for (const n of readdirSync(dir).filter((f) => f.endsWith('.full'))) {
    const d = decodeExec(readFileSync(dir + n));
    const r = execRunOfDecoded(d);
    compare(await collect(encodeExec(r).body()), r, d.artifacts.map((a) => a.data));
  }
});
