import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeExec, execRunOfDecoded } from '../../../src/upload/exec-decode.js';
import { encodeExec } from '../../../src/upload/exec-encode.js';
import { dateOfExecTime } from '../../../src/upload/exec-run.js';

// Results written by the original OCaml server (its on-disk format is the
// upload blob). The copies under test/fixtures/ are what the tests use; the
// originals live in ../shared/fixtures/builder-full beside the repo.
const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = `${repo}test/fixtures/builder-full/`;
const shared = `${repo}../shared/fixtures/builder-full/`;
const names = readdirSync(fixtures).filter((n) => n.endsWith('.full')).sort();

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of body) parts.push(b);
  return Buffer.concat(parts);
}

test('the four original fixtures are present', () => {
  assert.deepEqual(names, ['fx-empty.full', 'fx-fail.full', 'fx-ok.full', 'fx-sig.full']);
});

test('the fixture copies match the originals in ../shared when that sibling exists', { skip: !existsSync(shared) }, () => {
  for (const n of names) assert.ok(readFileSync(`${fixtures}${n}`).equals(readFileSync(`${shared}${n}`)), n);
});

for (const n of names) {
  test(`${n}: decodes, and re-encoding gives back the identical bytes`, async () => {
    const original = readFileSync(`${fixtures}${n}`);
    const encoded = encodeExec(execRunOfDecoded(decodeExec(original)));
    assert.equal(encoded.length, original.length);
    const again = await collect(encoded.body());
    assert.equal(again.toString('hex'), original.toString('hex'));
  });
}

test('fx-ok carries the job, a non-ASCII line, oldest-first console, and both artifacts', () => {
  const d = decodeExec(readFileSync(`${fixtures}fx-ok.full`));
  assert.equal(d.job.name.toString(), 'fx-ok');
  assert.equal(d.job.platform?.toString(), 'fixture-plat');
  assert.deepEqual(d.job.files, []);
  assert.equal(d.uuid, '4832277d-2c47-4365-9d82-149382a8f987');
  assert.deepEqual(
    d.console.map((l) => l.line.toString()),
    ['building demo', 'résumé ✓ unicode line', 'to stderr', 'done'],
  );
  assert.deepEqual(d.console.map((l) => l.delta), [57035536, 57045731, 57057738, 57062055]);
  assert.equal(dateOfExecTime(d.started).toISOString(), '2026-11-28T14:59:54.992Z');
  assert.deepEqual(d.finished, { seconds: Date.parse('2026-11-28T14:59:55Z') / 1000, fraction: '049' });
  assert.deepEqual(d.timeTypes, { started: 'generalized', finished: 'generalized' });
  assert.deepEqual(d.result, { kind: 'exited', code: 0 });
  assert.deepEqual(d.artifacts.map((a) => a.path.toString()), ['opam-switch', 'bin/demo.bin']);
  assert.equal(d.artifacts[1]!.data.toString('hex'), Buffer.from('ELF-ish \x00\x01\x02\xff binary', 'latin1').toString('hex'));
});

test('fx-fail exited 3, fx-sig exited 143 (the shell reports the TERM), fx-empty has no console or artifacts', () => {
  const fail = decodeExec(readFileSync(`${fixtures}fx-fail.full`));
  assert.deepEqual(fail.result, { kind: 'exited', code: 3 });
  assert.equal(fail.started.fraction, '100'); // trailing zeros as the original wrote them
  const sig = decodeExec(readFileSync(`${fixtures}fx-sig.full`));
  assert.deepEqual(sig.result, { kind: 'exited', code: 143 });
  assert.deepEqual(sig.console.map((l) => l.line.toString()), ['killing myself', 'Terminated']);
  const empty = decodeExec(readFileSync(`${fixtures}fx-empty.full`));
  assert.deepEqual([empty.console, empty.artifacts, empty.job.files], [[], [], []]);
  assert.equal(empty.job.script.toString(), '#!/bin/sh\ntrue\n');
});
