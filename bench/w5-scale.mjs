// W5 scale: 100,000 job files queued in the spool before the server starts.
// Time from spawning the server until `info` answers (polled over a raw
// socket: the reply is one line of several MB), its RSS then, and its RSS
// once idle; whether `builder-client info` itself copes with that queue.
import { client, join, memMB, now, rawInfo, row, settle, spawnProgram, stop, tempDir, waitFor, writeJobFiles } from './lib.mjs';

/** Runs W5 and returns its table rows. */
export async function run({ quick }) {
  const n = quick ? 20_000 : 100_000;
  const spool = join(tempDir(), 'spool');
  writeJobFiles(spool, n, 'true\n', { direct: true });
  // The floor: the same program doing nothing but start-up and listen, on an empty spool.
  const empty = join(tempDir(), 'spool');
  const base = await readyMs(empty, 0);
  await stop(base.server);
  const { ms, server, bytes } = await readyMs(spool, n);
  const rssReady = memMB(server.pid, 'VmRSS');
  await settle(server.pid);
  const rssIdle = memMB(server.pid, 'VmRSS');
  const peak = memMB(server.pid);
  const c = await client(`127.0.0.1:${server.port}`, ['info']);
  const clientNote = c.code === 0 ? 'builder-client info works' : `builder-client info exits ${c.code}: ${c.err.trim().split('\n').pop()}`;
  await stop(server);
  const label = `${n / 1000}k queued`;
  return [
    row('W5', `start-up until info answers, ${label}`, ms, 'ms', {
      baseline: base.ms,
      baselineLabel: 'same, empty spool',
      goal: '< 3000 ms',
      met: (v) => v < 3000,
      note: `info reply ${(bytes / 2 ** 20).toFixed(1)} MB; ${clientNote}`,
    }),
    row('W5', `RSS when info answers, ${label}`, rssReady, 'MB', { baseline: base.rss, baselineLabel: 'same, empty spool', goal: '< 250 MB', met: (v) => v < 250 }),
    row('W5', `RSS idle, ${label}`, rssIdle, 'MB', { baseline: base.rss, baselineLabel: 'same, empty spool', goal: '< 250 MB', met: (v) => v < 250, note: `peak ${peak.toFixed(0)} MB` }),
  ];
}

async function readyMs(spool, n) {
  const t0 = now();
  const server = spawnProgram('builder-server', ['--ip', '127.0.0.1', '--port', '0', '--dir', spool]);
  const m = await waitFor('the server to listen', () => {
    if (server.child.exitCode !== null) throw new Error(`builder-server exited: ${server.err().slice(-1000)}`);
    return / listening 127\.0\.0\.1:(\d+)/.exec(server.out());
  }, 120_000, 5);
  const port = Number(m[1]);
  const { bytes } = await waitFor('info to answer', () => rawInfo(port).catch(() => null).then((r) => (r && r.queued >= n ? r : null)), 120_000, 10);
  const ms = now() - t0;
  return { ms, server: { ...server, port }, bytes, rss: memMB(server.pid, 'VmRSS') };
}
