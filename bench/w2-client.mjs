// W2 client latency: median wall time of `builder-client info` against a
// server holding 1,000 queued jobs (no workers), against the start-up of a
// bare hello-world (`node -e 'console.log(1)'`: the floor of any program
// built on this node; a SEA binary starts no faster), and the SEA binary's
// own start-up when it is built. Also `results --limit 20` with 100,000
// stored results, against `node -e 0`.
import { client, existsSync, helloWorldMs, join, median, now, rawClient, row, startServer, stop, tempDir, timed, waitFor, writeJobFiles, writeResultFiles, rawInfo, DIST } from './lib.mjs';

const RUNS = 30;
const QUEUED = 1000;
const STORED = 100_000;

/** Sends `results --limit 20` over a raw socket; resolves with the ms until the reply line and its result count. */
async function rawResults(port) {
  const t0 = now();
  const s = await rawClient(port, { type: 'results', limit: 20 });
  return new Promise((resolve, reject) => {
    let text = '';
    s.on('data', (d) => {
      text += d.toString('utf8');
      const lines = text.split('\n');
      if (lines.length < 3) return;
      s.destroy();
      resolve({ ms: now() - t0, count: JSON.parse(lines[1]).results?.length ?? -1 });
    });
    s.once('error', reject);
  });
}

/** `results --limit 20` with STORED results in the spool: the client's wall time and the server's answer time. */
async function results(runs) {
  const spool = join(tempDir(), 'spool');
  writeResultFiles(spool, STORED);
  // The first start builds the index from every result.json; a restart reads the index only.
  let server = await startServer(spool, { timeoutMs: 600_000 });
  await waitFor('the index', async () => (await rawResults(server.port)).count === 20, 600_000, 200);
  await stop(server);
  const t0 = now();
  server = await startServer(spool, { timeoutMs: 600_000 });
  await waitFor('the index', async () => (await rawResults(server.port)).count === 20, 600_000, 50);
  const reopenMs = now() - t0;
  const wall = [];
  const answer = [];
  const bare = [];
  for (let i = 0; i < runs; i++) {
    const r = await client(server.remote, ['results', '--limit', '20']);
    if (r.code !== 0) throw new Error(`builder-client results exited ${r.code}: ${r.err}`);
    wall.push(r.ms);
    answer.push((await rawResults(server.port)).ms);
    bare.push(await timed(process.execPath, ['-e', '0']));
  }
  await stop(server);
  return { wall: median(wall), answer: median(answer), bare: median(bare), reopenMs };
}

/** Runs W2 and returns its table rows. */
export async function run({ quick }) {
  const runs = quick ? 15 : RUNS;
  const spool = join(tempDir(), 'spool');
  writeJobFiles(spool, QUEUED, 'true\n', { direct: true });
  const server = await startServer(spool);
  await waitFor('the queue to load', () => rawInfo(server.port).then((r) => r.queued >= QUEUED), 30_000);
  const ms = [];
  const versionMs = [];
  for (let i = 0; i < runs; i++) {
    const r = await client(server.remote, ['info']);
    if (r.code !== 0) throw new Error(`builder-client info exited ${r.code}: ${r.err}`);
    ms.push(r.ms);
    // The client's own start-up (no connection): splits the figure into start-up and round trip.
    versionMs.push((await client(server.remote, ['--version'])).ms);
  }
  await stop(server);
  const hello = await helloWorldMs(runs);
  const res = await results(runs);
  return [
    row('W2', `builder-client results --limit 20, ${STORED} stored (median of ${runs})`, res.wall, 'ms', {
      baseline: res.bare,
      baselineLabel: 'node -e 0',
      goal: 'answer < 100 ms',
      met: () => res.answer < 100,
      note: `server answer ${res.answer.toFixed(1)} ms (raw socket); restart to first answer ${(res.reopenMs / 1000).toFixed(1)} s`,
    }),
    ...(await seaStartRows(runs)),
    row('W2', `builder-client info, ${QUEUED} queued (median of ${runs})`, median(ms), 'ms', {
      baseline: hello,
      baselineLabel: "node -e 'console.log(1)'",
      goal: '<= 1.3x',
      met: (_v, r) => r <= 1.3,
    }),
    row('W2', `builder-client --version (start-up only)`, median(versionMs), 'ms', { baseline: hello, baselineLabel: "node -e 'console.log(1)'" }),
  ];
}

/**
 * The shipped binary's start-up: dist/builder-client (a SEA with the pinned
 * Node 24 inside) against `node -e 0` on the Node running the bench (the
 * machine's, Node 20 here). Only when `node build.mjs` has made the SEA.
 */
async function seaStartRows(runs) {
  const sea = join(DIST, 'builder-client');
  if (!existsSync(sea)) return [];
  const seaMs = [];
  const nodeMs = [];
  for (let i = 0; i < runs; i++) {
    seaMs.push(await timed(sea, ['--version']));
    nodeMs.push(await timed(process.execPath, ['-e', '0']));
  }
  return [
    row('W2', 'dist/builder-client --version (SEA, embedded Node 24)', median(seaMs), 'ms', {
      baseline: median(nodeMs),
      baselineLabel: `node -e 0 on ${process.version}`,
    }),
  ];
}
