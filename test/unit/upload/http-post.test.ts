import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUploadTarget } from '../../../src/upload/http-post.js';

test('credentials in the upload URL become basic auth, leave the URL, and show as ***', () => {
  const t = parseUploadTarget('https://builder:p%40ss:word@web.example:8443/upload');
  assert.equal(t.url.href, 'https://web.example:8443/upload');
  assert.equal(t.authorization, `Basic ${Buffer.from('builder:p@ss:word').toString('base64')}`);
  assert.equal(t.shown, 'https://builder:***@web.example:8443/upload');
});

test('an upload URL without credentials sends no Authorization', () => {
  const t = parseUploadTarget('http://127.0.0.1:1/upload');
  assert.equal(t.authorization, null);
  assert.equal(t.shown, 'http://127.0.0.1:1/upload');
});

test('a URL that is not http(s) is refused without echoing its password', () => {
  assert.throws(() => parseUploadTarget('ftp://u:topsecret@h/'), (e: Error) => !e.message.includes('topsecret'));
  assert.throws(() => parseUploadTarget('http://u:topsecret@[nope'), (e: Error) => !e.message.includes('topsecret') && /\*\*\*/.test(e.message));
});
