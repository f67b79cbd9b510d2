// W1 dispatch throughput: trivial jobs (`true`) through 2 looping workers on
// a durable spool, jobs/s from the first enqueue to the last stored result,
// against the floor of `/bin/sh -c true` run as often, 2 at a time, with no
// scheduler. Two enqueue paths: job files renamed into the spool (the fastest
// the project offers), one `builder-client schedule` per job, and one
// `schedule --period never --now` per job (a one-off job in one call).
import { spawn } from 'node:child_process';
import { DIST, existsSync, client, median, join, node24, now, pool, row, resultJobCount, startServer, startWorkers, stop, storedResults, tempDir, timed, waitFor, writeFileSync, writeJobFiles, PLATFORM } from './lib.mjs';

/** Sizes: jobs through the spool path, jobs through the client path. */
const SIZES = { full: { files: 2000, clients: 200 }, quick: { files: 300, clients: 60 } };

/** Runs of a command per second, n of them, 2 at a time: `sh -c true` (the node-spawn floor) unless told. */
export async function floor(n, cmd = '/bin/sh', args = ['-c', 'true']) {
  const t0 = now();
  await pool(n, 2, () => timed(cmd, args));
  return n / ((now() - t0) / 1000);
}

/** The floor of any client that is one Node 24 process per call: `node -e 0` of the SEA's Node, n times, 2 at a time; null without it. */
export function nodeStartFloor(n) {
  const bin = node24();
  return bin ? floor(n, bin, ['-e', '0']) : Promise.resolve(null);
}

/** The floor with no Node at all: `xargs -P2 sh -c true`, n times (what the peers are compared with). */
export async function xargsFloor(n) {
  const input = Array.from({ length: n }, (_, i) => `${i}\n`).join('');
  const t0 = now();
  await new Promise((resolve, reject) => {
    const p = spawn('xargs', ['-P2', '-n1', 'sh', '-c', 'true'], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`xargs exited ${code}`))));
    p.stdin.end(input);
  });
  return n / ((now() - t0) / 1000);
}

/**
 * A worker's wait between jobs, from its log: the time from the line it logs
 * once job_finished is sent (`NAME: exited 0, ...`) to its next `running NAME`
 * line (the log's timestamps have ms resolution); the median over all workers.
 */
export function workerWaitMs(logs) {
  const waits = [];
  for (const text of logs) {
    let finished = null;
    for (const l of text.split('\n')) {
      const t = Date.parse(l.slice(0, 24));
      if (Number.isNaN(t)) continue;
      if (/\] \S+: .*artifact\(s\)$/.test(l)) finished = t;
      else if (/\] running /.test(l) && finished !== null) {
        waits.push(t - finished);
        finished = null;
      }
    }
  }
  return waits.length ? median(waits) : null;
}

async function waitAllStored(spool, n, timeoutMs) {
  await waitFor(`${n} stored results`, () => resultJobCount(spool) >= n, timeoutMs, 20);
  return waitFor(`${n} result.json files`, () => {
    const r = storedResults(spool);
    return r.size >= n && [...r.values()].every((l) => l.length > 0) && r;
  }, 10_000, 20);
}

export async function viaFiles(n) {
  const spool = join(tempDir(), 'spool');
  const server = await startServer(spool);
  const workers = startWorkers(server.remote, 2);
  await waitFor('2 workers', () => (server.err().match(/worker \w+ connected/g) ?? []).length >= 2, 30_000);
  const t0 = now();
  writeJobFiles(spool, n, 'true\n');
  const enqueued = now();
  const results = await waitAllStored(spool, n, 600_000);
  const done = now();
  const failed = [...results.values()].filter((l) => l[0].outcome.kind !== 'exited' || l[0].outcome.code !== 0).length;
  await Promise.all([...workers, server].map((p) => stop(p)));
  return { enqueueRate: n / ((enqueued - t0) / 1000), rate: n / ((done - t0) / 1000), failed, waitMs: workerWaitMs(workers.map((w) => w.err())) };
}

export async function viaClient(n, flags = ['--period', 'daily'], clientOpts = {}) {
  const dir = tempDir();
  const spool = join(dir, 'spool');
  const script = join(dir, 'true.sh');
  writeFileSync(script, 'true\n');
  const server = await startServer(spool);
  const workers = startWorkers(server.remote, 2);
  await waitFor('2 workers', () => (server.err().match(/worker \w+ connected/g) ?? []).length >= 2, 30_000);
  const t0 = now();
  let refused = 0;
  // why 2 at a time: one client start-up per core, as a script on this host would.
  await pool(n, 2, async (i) => {
    const r = await client(server.remote, ['schedule', `job${i}`, PLATFORM, script, ...flags], clientOpts);
    if (r.code !== 0) refused++;
  });
  const enqueued = now();
  await waitAllStored(spool, n - refused, 600_000);
  const done = now();
  await Promise.all([...workers, server].map((p) => stop(p)));
  return { enqueueRate: n / ((enqueued - t0) / 1000), rate: n / ((done - t0) / 1000), refused };
}

/** Runs W1 and returns its table rows. */
export async function run({ quick }) {
  const size = SIZES[quick ? 'quick' : 'full'];
  const floorRate = await floor(size.files);
  const xargsRate = await xargsFloor(size.files);
  const files = await viaFiles(size.files);
  const clients = await viaClient(size.clients);
  const oneOff = await viaClient(size.clients, ['--period', 'never', '--now']);
  // The client as shipped: the single executable on the Node 24 it embeds (when `node build.mjs` made it).
  const seaOneOff = existsSync(join(DIST, 'builder-client')) ? await viaClient(size.clients, ['--period', 'never', '--now'], { sea: true }) : null;
  const startFloor = seaOneOff ? await nodeStartFloor(size.clients) : null;
  const floorLabel = `sh -c true x${size.files}, 2 at a time`;
  return [
    row('W1', `dispatch ${size.files} jobs, spool files (jobs/s)`, files.rate, 'jobs/s', {
      baseline: floorRate,
      baselineLabel: floorLabel,
      goal: '>= 0.5x',
      met: (_v, r) => r >= 0.5,
      note: [files.failed ? `${files.failed} not exited 0` : '', files.waitMs !== null ? `worker wait between jobs ${files.waitMs} ms median` : ''].filter(Boolean).join('; '),
    }),
    row('W1', `dispatch ${size.files} jobs, spool files, vs xargs floor (jobs/s)`, files.rate, 'jobs/s', {
      baseline: xargsRate,
      baselineLabel: `xargs -P2 sh -c true x${size.files}`,
      goal: '>= 0.4x',
      met: (_v, r) => r >= 0.4,
    }),
    row('W1', `enqueue only, spool files (jobs/s)`, files.enqueueRate, 'jobs/s', { baseline: floorRate, baselineLabel: floorLabel }),
    row('W1', `dispatch ${size.clients} jobs, 1 client call each (jobs/s)`, clients.rate, 'jobs/s', { baseline: floorRate, baselineLabel: floorLabel }),
    row('W1', `enqueue only, 1 client call each (jobs/s)`, clients.enqueueRate, 'jobs/s', {
      baseline: floorRate,
      baselineLabel: floorLabel,
      note: clients.refused ? `${clients.refused} refused` : '',
    }),
    row('W1', `dispatch ${size.clients} jobs, 1 client call per job with --now (jobs/s)`, oneOff.rate, 'jobs/s', {
      baseline: floorRate,
      baselineLabel: floorLabel,
      goal: '>= 20 jobs/s',
      met: (v) => v >= 20,
      // The ratio printed is to the node-spawn floor; this one is to the xargs floor.
      note: [oneOff.refused ? `${oneOff.refused} refused` : '', `${(oneOff.rate / xargsRate).toFixed(3)}x the xargs floor`, `client: dist/builder-client.cjs on node ${process.version}`].filter(Boolean).join('; '),
    }),
    seaOneOff
      ? row('W1', `dispatch ${size.clients} jobs, 1 SEA client call per job with --now (jobs/s)`, seaOneOff.rate, 'jobs/s', {
          baseline: floorRate,
          baselineLabel: floorLabel,
          goal: '>= 20 jobs/s',
          met: (v) => v >= 20,
          note: [
            seaOneOff.refused ? `${seaOneOff.refused} refused` : '',
            `${(seaOneOff.rate / xargsRate).toFixed(3)}x the xargs floor`,
            // What no client started once per call can pass here: Node 24's own start-up, with nothing to do.
            startFloor ? `${(seaOneOff.rate / startFloor).toFixed(2)}x of Node 24 start-up alone (node -e 0, 2 at a time: ${startFloor.toFixed(1)}/s)` : '',
            'client: the shipped dist/builder-client (Node 24 SEA)',
          ]
            .filter(Boolean)
            .join('; '),
        })
      : row('W1', '1 SEA client call per job with --now', null, '', { note: 'skipped: no dist/builder-client (run `node build.mjs`)' }),
  ];
}
