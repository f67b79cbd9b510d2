import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConsoleLog } from '../../../src/server/core/console-log.js';
import { admitConsoleLine, consoleCapNotice, DEFAULT_LIMITS, restoredUsage } from '../../../src/server/core/limits.js';

const limits = { ...DEFAULT_LIMITS, maxConsoleBytes: 10 };

test('a console restored below its limit keeps counting from the bytes it holds', () => {
  const u = restoredUsage(limits, 6, 'hello');
  assert.equal(u.exceeded, null);
  assert.equal(admitConsoleLine(limits, u, 'ab'), 'keep');
  assert.equal(admitConsoleLine(limits, u, 'cd'), 'last');
});

test('a console restored ending with the limit notice stays over the limit: later lines are dropped and the outcome will say so', () => {
  const live = { ...restoredUsage(limits, 0, null) };
  admitConsoleLine(limits, live, 'hello');
  assert.equal(admitConsoleLine(limits, live, 'world'), 'last');
  const u = restoredUsage(limits, 6, consoleCapNotice(live.exceeded!));
  assert.equal(u.exceeded, live.exceeded);
  assert.equal(admitConsoleLine(limits, u, 'x'), 'drop');
});

test('a job line that merely mentions the limit is not taken for the notice', () => {
  assert.equal(restoredUsage(limits, 6, 'builder-server: console exceeds the limit of 1 KiB').exceeded, null);
});

test('a console reopened after a restart counts the worker\'s lines apart from the server\'s own artifact notices, and cuts a torn last line', async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'builder-console-'));
  const path = join(dir, 'console.ndjson');
  const stored = [{ t: 1, line: 'a' }, { t: 0, line: 'builder-server: artifact x refused: more than 1 artifacts (--max-artifacts); later artifacts are discarded' }, { t: 2, line: 'bé' }, { t: 0, line: 'builder-worker: cannot read artifact y: gone; not sent' }];
  writeFileSync(path, stored.map((l) => JSON.stringify(l) + '\n').join('') + '{"t":3,"li');
  const c = new ConsoleLog(path);
  await c.openExisting();
  assert.equal(c.lines, 4);
  assert.equal(c.kept.serverLines, 1, 'the server\'s notice has no seq; the worker\'s own notice has one');
  assert.equal(c.kept.bytes, 2 + 4 + Buffer.byteLength(stored[3]!.line) + 1);
  assert.equal(c.kept.last, stored[3]!.line);
  assert.equal(readFileSync(path, 'utf8').split('\n').length - 1, 4, 'the torn line is cut off');
  await c.close();
});
