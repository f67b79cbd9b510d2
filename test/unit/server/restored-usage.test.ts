import assert from 'node:assert/strict';
import { test } from 'node:test';
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
