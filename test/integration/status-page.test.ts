import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, scheduleJob, startWorker, storedResults, tempDir, waitFor } from './harness.js';
import { chromium } from 'playwright-core';
import { startStatusServer } from './status-harness.js';

// The status page in a real browser: the Debian package chromium driven by
// playwright-core (no browser download). Without them the test is skipped
// with a note, except in CI (CI set), where it must run.

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');

function missing(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: install the Debian package chromium (apt-get install chromium)`;
  return null;
}

test('the status page shows workers, queues, schedule, results and a running job whose console follows live', async (t) => {
  const why = missing();
  if (why) {
    if (process.env.CI) assert.fail(`status page test cannot run in CI: ${why}`);
    t.skip(why);
    return;
  }
  // The browser starts while the server gets its jobs.
  const launching = chromium.launchPersistentContext(tempDir('builder-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const server = await startStatusServer(tempDir());
  // Some history first: a good run with an artifact and a failed one.
  await Promise.all([
    scheduleJob(server, 'lint', 'debian-12', '#!/bin/sh\necho checking\nmkdir -p out && echo clean > out/lint-report.txt\n', ['--period', 'daily']),
    scheduleJob(server, 'flaky-tests', 'debian-12', '#!/bin/sh\necho "3 tests failed"\nexit 3\n', ['--period', 'daily']),
  ]);
  startWorker(server.remote, 'debian-12', ['--loop']);
  await waitFor('the first two results', () => storedResults(server.dir, 'lint').length + storedResults(server.dir, 'flaky-tests').length === 2);
  // Waiting on a platform no worker serves, and a cron entry.
  // The running job is held at a gate until the page is open.
  const gate = join(tempDir(), 'gate');
  await Promise.all([
    scheduleJob(server, 'docs', 'freebsd-14', '#!/bin/sh\necho docs\n', ['--period', 'hourly']),
    scheduleJob(server, 'nightly-release', 'freebsd-14', '#!/bin/sh\necho release\n', ['--cron', '0 3 * * *']),
    scheduleJob(
      server,
      'nightly-build',
      'debian-12',
      `#!/bin/sh\necho "configuring"\necho "compiling 1/2"\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho "printed after the page loaded"\necho "linking"\n`,
      ['--period', 'daily'],
    ),
  ]);
  const context = await launching;
  try {
    const page = await context.newPage();
    const errors: Error[] = [];
    page.on('pageerror', (e) => errors.push(e));
    await waitFor('the run to start', async () => {
      await page.goto(server.http, { waitUntil: 'domcontentloaded' });
      return (await page.locator('#running').textContent())?.includes('nightly-build');
    });
    const text = (sel: string) => page.locator(sel).textContent().then((s) => s ?? '');
    assert.match(await text('#running'), /nightly-build.*debian-12/s);
    assert.match(await text('#workers'), /debian-12/);
    assert.match(await text('#queues'), /freebsd-14.*docs/s);
    assert.match(await text('#schedule'), /nightly-release.*0 3 \* \* \*/s);
    assert.match(await text('#results'), /flaky-tests.*exited 3/s);
    assert.match(await text('#results'), /lint.*exited 0.*out\/lint-report\.txt/s);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });

    await page.locator('#running a:text-is("live console")').first().click();
    await page.waitForURL(/\/runs\/[0-9a-f-]+\/console$/);
    await page.locator('#console').waitFor();
    assert.match(await text('#console'), /compiling 1\/2/, 'the console so far is on the page');
    assert.ok(!(await text('#console')).includes('printed after'), 'the job is still held');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    writeFileSync(gate, '');
    // (Locators, not waitForFunction: the page's CSP forbids eval, as it should.)
    await page.locator('#console:has-text("printed after the page loaded")').waitFor({ timeout: 15000 });
    await page.locator('#state:text-is("exited 0")').waitFor({ timeout: 15000 });
    assert.equal(navigations, 0, 'the line came over the live stream, not by reloading');
    assert.match(await text('#console'), /linking/);
    await page.screenshot({ path: join(ARTIFACTS, 'status-run.png'), fullPage: true });
    assert.deepEqual(errors, [], 'no script errors on the page');
  } finally {
    await context.close();
  }
});
