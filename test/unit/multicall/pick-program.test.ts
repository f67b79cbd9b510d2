import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickProgram } from '../../../src/multicall/pick-program.js';

const NAMES = ['builder-server', 'builder-worker', 'builder-client'];

test('the binary is the program it is named after, wherever it lies', () => {
  assert.deepEqual(pickProgram(NAMES, '/usr/bin/builder-worker', ['debian-12']), { name: 'builder-worker', fromArgument: false });
  assert.deepEqual(pickProgram(NAMES, 'builder-server-0.1.0', []), { name: 'builder-server', fromArgument: false });
  assert.deepEqual(pickProgram(NAMES, 'C:\\x\\builder-client.exe'.replace(/\\/g, '/'), ['info']), { name: 'builder-client', fromArgument: false });
});

test('started as plain builder, the first argument names the program', () => {
  assert.deepEqual(pickProgram(NAMES, '/usr/lib/builder/builder', ['worker', 'debian-12']), { name: 'builder-worker', fromArgument: true });
  assert.deepEqual(pickProgram(NAMES, 'builder', ['builder-client', 'info']), { name: 'builder-client', fromArgument: true });
  assert.equal(pickProgram(NAMES, 'builder', ['compile']), undefined);
  assert.equal(pickProgram(NAMES, 'builder', []), undefined);
});
