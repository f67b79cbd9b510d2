import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { client, clientJson, ROOT, scheduleJob, startWorker, storedResults, tempDir, waitFor } from './harness.js';
import { startReceiver } from './receiver.js';
import { startStatusServer } from './status-harness.js';

// The status page in a real browser (Debian's chromium driven by
// playwright-core): the problems and upload panels, a job's history page
// with paging, and a run page with colours, sizes, the script and the
// newest console lines in view. Screenshots go to test-artifacts/.

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const RUNS = 27;

test('problems and upload panels, a job history paged past 25 runs, and a run page with ANSI colours, sizes and its script', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} is missing: install the Debian package chromium`);
    return t.skip(`${CHROMIUM} is missing: install the Debian package chromium (apt-get install chromium)`);
  }
  const launching = chromium.launchPersistentContext(tempDir('builder-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // builder-web refuses the first run for good (413: dead letter) and is down for the rest (503: they wait).
  const receiver = await startReceiver((n) => (n === 0 ? 413 : 503));
  const config = tempDir();
  writeFileSync(join(config, 'orb-build.template.alpha-8'), '#!/bin/sh\necho building %%OPAM_PACKAGE%%\n');
  const server = await startStatusServer(tempDir(), ['--config-dir', config, '--upload', receiver.url, '--upload-backoff-ms', '60000']);
  const worker = startWorker(server.remote, 'gamma-8', ['--loop']);
  await waitFor('the worker', async () => (await clientJson(server.remote, ['info'])).workers.length === 1);
  // A template job: gamma-8 has a worker but no template (a problem); alpha-8 has the template and no worker.
  await clientJson(server.remote, ['orb-build', 'pkg-job', 'somepkg', '--period', 'daily']);
  const script = [
    '#!/bin/sh',
    'printf "plain start\\n"',
    'printf "\\033[1;31mred error\\033[0m and \\033[32mgreen ok\\033[0m\\n"',
    'printf "<b>not bold</b> \\033]0;title\\007after osc\\n"',
    'i=0; while [ $i -lt 120 ]; do echo "line $i"; i=$((i+1)); done',
    'echo "the newest line"',
    'head -c 1536 /dev/zero > report.bin',
    '',
  ].join('\n');
  await scheduleJob(server, 'colours', 'gamma-8', script);
  for (let i = 1; i <= RUNS; i++) {
    const r = await client(server.remote, ['execute', 'colours']);
    assert.equal(r.code, 0, r.err);
    await waitFor(`run ${i}`, () => storedResults(server.dir, 'colours').length === i, 30_000);
  }
  await waitFor('the dead letter', () => receiver.requests.some((q) => q.status === 413) && receiver.requests.some((q) => q.status === 503));
  worker.child.kill('SIGTERM');
  await waitFor('the worker to be gone', async () => (await clientJson(server.remote, ['info'])).workers.length === 0);

  const context = await launching;
  try {
    const page = await context.newPage();
    const errors: Error[] = [];
    page.on('pageerror', (e) => errors.push(e));
    const text = (sel: string) => page.locator(sel).first().textContent().then((s) => s ?? '');
    mkdirSync(ARTIFACTS, { recursive: true });

    await page.goto(server.http);
    assert.match(await text('#problems'), /orb-build\.template\.gamma-8/, 'the missing template');
    assert.match(await text('#problems'), /alpha-8: 1 queued and no worker connected/, 'the queue nobody serves');
    assert.match(await text('#queues'), /alpha-8\s*no worker/);
    assert.match(await text('#workers'), /gamma-8.*disconnected.*last seen/s, 'the worker that left');
    assert.match(await text('#problems'), /1 run refused by builder-web for good/);
    assert.match(await text('#uploads'), /1 refused/);
    assert.match(await text('#uploads'), /Dead letters.*colours.*413/s);
    assert.match(await text('#uploads'), /Waiting, next attempt first.*colours.*503/s);
    await page.screenshot({ path: join(ARTIFACTS, 'status-panels.png'), fullPage: true });

    await page.locator('#platforms a:text-is("alpha-8")').click();
    await page.waitForURL(/\?platform=alpha-8$/);
    assert.match(await text('#schedule'), /pkg-job/);
    assert.ok(!(await text('#results')).includes('colours'), 'results of other platforms are filtered out');

    await page.goto(new URL('/jobs/colours', server.http).href);
    assert.match(await text('#summary'), new RegExp(`${RUNS} · ${RUNS} succeeded`));
    assert.equal(await page.locator('#history tbody tr').count(), 25);
    assert.match(await text('#history'), new RegExp(`page 1 of 2 \\(1–25 of ${RUNS}\\)`));
    assert.match(await text('#job-script'), /the newest line/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-job-history.png'), fullPage: true });
    await page.locator('#history a[rel=next]').click();
    await page.waitForURL(/\?page=2$/);
    assert.equal(await page.locator('#history tbody tr').count(), RUNS - 25);

    await page.locator('#history tbody a').first().click();
    await page.waitForURL(/\/runs\/[0-9a-f-]+\/console$/);
    assert.equal(await page.locator('#console span.f1.sb').first().textContent(), 'red error', 'SGR 1;31 is a bold red span');
    assert.equal(await page.locator('#console span.f2').first().textContent(), 'green ok');
    const consoleText = await text('#console');
    assert.ok(!consoleText.includes('\x1b') && !consoleText.includes('[1;31m'), 'no raw escapes');
    assert.match(consoleText, /<b>not bold<\/b> after osc/, 'markup in a line is text; the OSC title is dropped');
    assert.equal(await page.locator('#console b').count(), 0);
    assert.match(await text('#artifacts'), /report\.bin\s*1\.5 KiB/);
    assert.match(await text('#script-section'), /head -c 1536/);
    // The newest line is in view without scrolling the page: inside the console box and the window.
    const end = await page.locator('#console .t').last().boundingBox();
    const box = await page.locator('#console').boundingBox();
    assert.ok(end && box, 'the console is laid out');
    assert.ok(end.y + end.height <= box.y + box.height && end.y >= box.y, `the end of the console (${end.y}) is inside its box (${box.y}..${box.y + box.height})`);
    assert.ok(end.y + end.height <= 900, `the end of the console (${end.y}) is within the 900 px window`);
    assert.match((await page.locator('#console').innerText()).trim().split('\n').slice(-3).join('\n'), /the newest line/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-run-ansi.png') });
    await page.locator('#console span.f1').first().scrollIntoViewIfNeeded();
    await page.locator('#console-section').screenshot({ path: join(ARTIFACTS, 'status-run-colours.png') });
    assert.deepEqual(errors, [], 'no script errors on the pages');
  } finally {
    await context.close();
  }
});
