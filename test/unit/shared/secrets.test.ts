import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oneLine } from '../../../src/shared/errors.js';
import { checkToken, maskSecrets, maskUrl, registerSecret } from '../../../src/shared/secrets.js';

test('registered secrets, token fields and URL passwords are masked in any text', () => {
  registerSecret('s3cr3t-t0ken-abcdef');
  assert.equal(maskSecrets('refused s3cr3t-t0ken-abcdef twice: s3cr3t-t0ken-abcdef'), 'refused *** twice: ***');
  assert.equal(maskSecrets('{"type":"hello","token":"anything at all","role":"client"}'), '{"type":"hello","token":"***","role":"client"}');
  // A hello quoted in a parse error (escaped, and cut off before its closing quote).
  assert.equal(maskSecrets('not JSON: "{\\"type\\":\\"hello\\",\\"token\\":\\"abcdefgh'), 'not JSON: "{\\"type\\":\\"hello\\",\\"token\\":\\"***');
  assert.equal(maskUrl('https://builder:hunter2@builds.example.org/upload'), 'https://builder:***@builds.example.org/upload');
  assert.equal(maskUrl('https://builds.example.org/upload'), 'https://builds.example.org/upload');
});

test('tokens must be long and printable', () => {
  assert.throws(() => checkToken('', 'the token'), /empty: use at least 16/);
  assert.throws(() => checkToken('short', 'the token'), /too short/);
  assert.throws(() => checkToken('has a space in the middle', 'the token'), /printable ASCII/);
  checkToken('0123456789abcdef', 'the token');
});

test('peer text becomes one short line: a newline cannot forge a log line', () => {
  assert.equal(oneLine('a\nwarn forged\r\0'), 'a\\nwarn forged\\r\\u0000');
  assert.equal(oneLine('x'.repeat(600)).length, 503);
  assert.equal(oneLine('tab\tstays'), 'tab\tstays');
});
