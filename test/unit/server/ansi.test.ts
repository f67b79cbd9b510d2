import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ansiToHtml } from '../../../src/server/http/ansi.js';
import { hostAllowed } from '../../../src/server/http/http-guard.js';

test('SGR colours become spans with fixed class names; reset closes them', () => {
  assert.equal(ansiToHtml('\x1b[1;31mred\x1b[0m plain'), '<span class="f1 sb">red</span> plain');
  assert.equal(ansiToHtml('\x1b[32mgreen\x1b[39m \x1b[94mbright\x1b[m'), '<span class="f2">green</span> <span class="f12">bright</span>');
  assert.equal(ansiToHtml('\x1b[38;5;3mpalette\x1b[38;5;200m256\x1b[38;2;1;2;3mrgb'), '<span class="f3">palette</span>256rgb');
});

test('text is escaped, other escapes and control characters are dropped', () => {
  assert.equal(ansiToHtml('<b>"x"</b>'), '&#60;b&#62;&#34;x&#34;&#60;/b&#62;');
  assert.equal(ansiToHtml('\x1b[31m<i>\x1b[0m'), '<span class="f1">&#60;i&#62;</span>');
  assert.equal(ansiToHtml('a\x1b]0;title\x07b\x1b[2Kc\x1b[?25ld\x07e\x1b'), 'abcde');
  assert.equal(ansiToHtml('tab\tkept\rcr'), 'tab\tkeptcr');
});

test('the status page answers its own address, localhost with the port and --http-host names only', () => {
  const at = { ip: '127.0.0.1', port: 8080 };
  assert.ok(hostAllowed('127.0.0.1:8080', at, '127.0.0.1', []));
  assert.ok(hostAllowed('localhost:8080', at, '127.0.0.1', []));
  assert.ok(hostAllowed('localhost.:8080', at, '127.0.0.1', []));
  assert.ok(!hostAllowed('localhost', at, '127.0.0.1', []), 'localhost needs the port');
  assert.ok(!hostAllowed('evil.example:8080', at, '127.0.0.1', []));
  assert.ok(!hostAllowed(undefined, at, '127.0.0.1', []));
  assert.ok(hostAllowed('Builds.Example.org:443', at, '127.0.0.1', ['builds.example.org']));
  assert.ok(!hostAllowed('builds.example.org.evil:443', at, '127.0.0.1', ['builds.example.org']));
  const wide = { ip: '0.0.0.0', port: 80 };
  assert.ok(hostAllowed('192.0.2.7:80', wide, '::ffff:192.0.2.7', []), 'the address the connection arrived at');
  assert.ok(hostAllowed('[::1]:80', { ip: '::1', port: 80 }, '::1', []));
});
