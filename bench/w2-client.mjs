// W2 client latency: median wall time of `builder-client info` against a
// server holding 1,000 queued jobs (no workers), against `node -e 0` of the
// same Node (the floor of any program built on it): the bundle on the Node
// running the bench, and, when `node build.mjs` made it, the SEA
// (dist/builder-client, Node 24 inside) against the pinned Node 24's own
// `node -e 0`. Also `results --limit 20` with 100,000 stored results.
import { client, existsSync, join, median, now, rawClient, row, startServer, stop, tempDir, timed, waitFor, writeJobFiles, writeResultFiles, rawInfo, node24, DIST, ROOT } from './lib.mjs';

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
  const seaWall = [];
  const sea = existsSync(join(DIST, 'builder-client'));
  for (let i = 0; i < runs; i++) {
    const r = await client(server.remote, ['results', '--limit', '20']);
    if (r.code !== 0) throw new Error(`builder-client results exited ${r.code}: ${r.err}`);
    wall.push(r.ms);
    if (sea) {
      const rs = await client(server.remote, ['results', '--limit', '20'], { sea: true });
      if (rs.code !== 0) throw new Error(`dist/builder-client results exited ${rs.code}: ${rs.err}`);
      seaWall.push(rs.ms);
    }
    answer.push((await rawResults(server.port)).ms);
    bare.push(await timed(process.execPath, ['-e', '0']));
  }
  await stop(server);
  return { wall: median(wall), seaWall: sea ? median(seaWall) : null, answer: median(answer), bare: median(bare), reopenMs };
}

/** Runs W2 and returns its table rows. */
export async function run({ quick }) {
  const runs = quick ? 15 : RUNS;
  const spool = join(tempDir(), 'spool');
  writeJobFiles(spool, QUEUED, 'true\n', { direct: true });
  const server = await startServer(spool);
  await waitFor('the queue to load', () => rawInfo(server.port).then((r) => r.queued >= QUEUED), 30_000);
  const sea = join(DIST, 'builder-client');
  const n24 = existsSync(sea) ? node24() : null;
  // Like with like, interleaved: the bundle against `node -e 0` of the node running it, the SEA
  // (embedded Node 24) against `node -e 0` of the same Node 24.
  const m = { info: [], version: [], bare: [], seaInfo: [], seaVersion: [], bare24: [], answer: [] };
  for (let i = 0; i < runs; i++) {
    const r = await client(server.remote, ['info']);
    if (r.code !== 0) throw new Error(`builder-client info exited ${r.code}: ${r.err}`);
    m.info.push(r.ms);
    // The client's own start-up (no connection): splits the figure into start-up and round trip.
    m.version.push((await client(server.remote, ['--version'])).ms);
    m.bare.push(await timed(process.execPath, ['-e', '0']));
    const t0 = now();
    await rawInfo(server.port);
    m.answer.push(now() - t0);
    if (n24) {
      m.seaInfo.push(await timed(sea, ['--remote', server.remote, 'info']));
      m.seaVersion.push(await timed(sea, ['--version']));
      m.bare24.push(await timed(n24, ['-e', '0']));
    }
  }
  await stop(server);
  const res = await results(runs);
  const bare = median(m.bare);
  const bareLabel = `node -e 0 on ${process.version}`;
  const rows = [
    row('W2', `builder-client results --limit 20, ${STORED} stored (median of ${runs})`, res.wall, 'ms', {
      baseline: res.bare,
      baselineLabel: 'node -e 0',
      goal: 'answer < 100 ms',
      met: () => res.answer < 100,
      note: `server answer ${res.answer.toFixed(1)} ms (raw socket); restart to first answer ${(res.reopenMs / 1000).toFixed(1)} s`,
    }),
    ...(res.seaWall === null
      ? []
      : [row('W2', `dist/builder-client results --limit 20, ${STORED} stored (SEA, whole call, median of ${runs})`, res.seaWall, 'ms', { goal: '< 100 ms', met: (v) => v < 100 })]),
    row('W2', `builder-client info, ${QUEUED} queued (bundle, median of ${runs})`, median(m.info), 'ms', {
      baseline: bare,
      baselineLabel: bareLabel,
      goal: '<= 1.5x',
      met: (_v, r) => r <= 1.5,
      note: `server answer ${median(m.answer).toFixed(1)} ms (raw socket, connect to reply)`,
    }),
    row('W2', 'builder-client --version (bundle, start-up only)', median(m.version), 'ms', { baseline: bare, baselineLabel: bareLabel }),
  ];
  if (n24) {
    const bare24 = median(m.bare24);
    const label24 = 'node -e 0 on the Node 24 the SEA embeds';
    rows.push(
      row('W2', `dist/builder-client info, ${QUEUED} queued (SEA, median of ${runs})`, median(m.seaInfo), 'ms', {
        baseline: bare24,
        baselineLabel: label24,
        goal: '<= 1.5x',
        met: (_v, r) => r <= 1.5,
      }),
      row('W2', 'dist/builder-client --version (SEA, start-up only)', median(m.seaVersion), 'ms', { baseline: bare24, baselineLabel: label24 }),
    );
  }
  return rows;
}
