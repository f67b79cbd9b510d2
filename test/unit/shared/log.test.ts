import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine } from '../../../src/shared/log.js';

const now = new Date('2026-12-01T19:40:00.123Z');

test('under journald, error and warning lines carry syslog priorities 3 and 4 and no timestamp', () => {
  assert.equal(formatLogLine('error', 'cannot bind', undefined, true, now), '<3>error cannot bind');
  assert.equal(formatLogLine('warn', 'token file readable', undefined, true, now), '<4>warn token file readable');
  assert.equal(formatLogLine('info', 'started', 'r-1', true, now), '<6>info [r-1] started');
  assert.equal(formatLogLine('debug', 'x', undefined, true, now), '<7>debug x');
});

test('outside journald, a line starts with its ISO time', () => {
  assert.equal(formatLogLine('warn', 'slow', 'r-2', false, now), '2026-12-01T19:40:00.123Z warn [r-2] slow');
});

test('a log line stays one line', () => {
  assert.equal(formatLogLine('info', 'a\nb', undefined, true, now).includes('\n'), false);
});
