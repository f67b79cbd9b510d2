// W7 status page at scale: 100,000 schedule entries written into the spool
// before the start. The overview's size (it is paged) and the server's peak
// RSS while 10 browsers ask for it at once, against the RSS when idle.
import { join, memMB, mkdirSync, now, row, settle, startServer, stop, tempDir, waitFor, writeFileSync } from './lib.mjs';

/** Runs W7 and returns its table rows. */
export async function run({ quick }) {
  const n = quick ? 20_000 : 100_000;
  const spool = join(tempDir(), 'spool');
  mkdirSync(join(spool, 'schedule'), { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `job-${String(i).padStart(6, '0')}`;
    writeFileSync(join(spool, 'schedule', `${name}.json`), JSON.stringify({ version: 1, name, platform: 'bench', script: '#!/bin/sh\ntrue\n', period: 'never', timeout_s: 3600, next: null }));
  }
  const server = await startServer(spool, { args: ['--http', '127.0.0.1:0'], timeoutMs: 300_000 });
  const m = await waitFor('the status page line', () => / status page on (http:\/\/\S+\/)/.exec(server.out()), 60_000);
  const url = m[1];
  await settle(server.pid);
  const idle = memMB(server.pid, 'VmRSS');
  const t0 = now();
  const bodies = await Promise.all(Array.from({ length: 10 }, () => fetch(url).then((r) => r.text())));
  const ms = now() - t0;
  const peak = memMB(server.pid);
  const bytes = Math.max(...bodies.map((b) => Buffer.byteLength(b)));
  await stop(server);
  const label = `${n / 1000}k scheduled`;
  return [
    row('W7', `overview page size, ${label}`, bytes / 1024, 'KiB', { goal: '< 1024 KiB', met: (v) => v < 1024, note: 'paged: 100 schedule entries, 25 results a page' }),
    row('W7', `10 parallel overview requests, ${label}`, ms, 'ms'),
    row('W7', `peak RSS with 10 parallel overviews, ${label}`, peak, 'MB', { baseline: idle, baselineLabel: 'RSS idle before', goal: '< 300 MB', met: (v) => v < 300 }),
  ];
}
