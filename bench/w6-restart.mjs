// W6 restart under load: 1,000 short jobs through 2 looping workers while
// the server is killed with SIGKILL 5 times (at 1/6 ... 5/6 of the stored
// results) and restarted on the same spool and port. Lost: jobs without an
// `exited 0` result at the end (must be 0). Started twice: jobs whose script
// ran more than once (each run appends its name to a log outside the spool),
// split by why, from the results their earlier attempts left.
import { readFileSync } from 'node:fs';
import { join, now, resultJobCount, row, startServer, startWorkers, stop, storedResults, tempDir, waitFor, writeJobFiles } from './lib.mjs';

const KILLS = 5;

function okCount(spool) {
  let ok = 0;
  for (const list of storedResults(spool).values()) if (list.some((r) => r.outcome.kind === 'exited' && r.outcome.code === 0)) ok++;
  return ok;
}

/** Runs W6 and returns its table rows. */
export async function run({ quick }) {
  const n = quick ? 200 : 1000;
  const dir = tempDir();
  const spool = join(dir, 'spool');
  const ran = join(dir, 'ran.log');
  const t0 = now();
  let server = await startServer(spool);
  const port = server.port;
  const workerLog = join(dir, 'worker');
  const workers = startWorkers(server.remote, 2, undefined, undefined, { logTo: workerLog });
  // A short job that leaves a trace of every execution (O_APPEND lines are atomic).
  writeJobFiles(spool, n, `echo "$BUILDER_JOB" >> ${ran}\n`);
  const restartsMs = [];
  for (let k = 1; k <= KILLS; k++) {
    await waitFor(`${Math.floor((n * k) / (KILLS + 1))} results`, () => resultJobCount(spool) >= Math.floor((n * k) / (KILLS + 1)), 300_000, 10);
    await stop(server, 'SIGKILL');
    server = await startServer(spool, { port });
    restartsMs.push(server.listenMs);
  }
  let lost = n;
  try {
    await waitFor('every job stored as exited 0', () => resultJobCount(spool) >= n && (lost = n - okCount(spool)) === 0, 300_000, 100);
  } catch {
    // Reported as lost below.
  }
  const total = now() - t0;
  await Promise.all([...workers, server].map((p) => stop(p)));
  const runs = new Map();
  for (const name of readFileSync(ran, 'utf8').split('\n').filter(Boolean)) runs.set(name, (runs.get(name) ?? 0) + 1);
  const stored = storedResults(spool);
  const twice = [...runs.values()].filter((c) => c > 1).length;
  // Why a job started more than once, from the results of its earlier attempts: a run the server
  // held at restart that no worker resumed in time ("the server restarted; it did not come back"),
  // a run whose worker's connection dropped while the server was up ("worker lost"), or no result
  // saying why (the server dropped the attempt without a record).
  const why = { workerLost: 0, serverDropped: 0, finishedUnheard: 0, other: 0, noRecord: 0 };
  const ended = new Set();
  for (let i = 0; i < workers.length; i++)
    for (const m of readFileSync(`${workerLog}-${i}.log`, 'utf8').matchAll(/\[([0-9a-f-]{36})\] [^ ]+: (exited|failed|signalled|cancelled)/g)) ended.add(m[1]);
  const otherMessages = new Set();
  for (const [name, count] of runs) {
    if (count < 2) continue;
    const failed = (stored.get(name) ?? []).filter((r) => r.outcome.kind === 'failed').map((r) => r.outcome.message);
    const dropped = (stored.get(name) ?? []).filter((r) => r.outcome.kind === 'failed' && /server restarted/.test(r.outcome.message));
    if (dropped.length > 0) {
      why.serverDropped++;
      // The worker logs `[RUN-ID] NAME: OUTCOME` when its run ends: it had finished, and its report died with the server.
      if (dropped.some((r) => ended.has(r.run_id))) why.finishedUnheard++;
    } else if (failed.some((m) => /^worker lost/.test(m))) why.workerLost++;
    else if (failed.length > 0) (why.other++, otherMessages.add(failed[0]));
    else why.noRecord++;
  }
  let interrupted = 0;
  for (const list of stored.values()) interrupted += list.filter((r) => r.outcome.kind === 'failed').length;
  return [
    row('W6', `${n} jobs, ${KILLS} SIGKILLs: jobs lost`, lost, 'jobs', { goal: '0', met: (v) => v === 0 }),
    row('W6', `${n} jobs, ${KILLS} SIGKILLs: jobs started twice`, twice, 'jobs', {
      note: [
        `worker lost ${why.workerLost}, server dropped ${why.serverDropped} (held at restart, not resumed in time; ${why.finishedUnheard} of them had ended on their worker, the report lost with the server), no record ${why.noRecord}`,
        why.other ? `other ${why.other} (${[...otherMessages].slice(0, 2).join(' | ')})` : '',
        `${interrupted} interrupted results stored`,
      ]
        .filter(Boolean)
        .join('; '),
    }),
    row('W6', `${n} jobs, ${KILLS} SIGKILLs: total time`, total, 'ms', { note: `restart to listening: ${restartsMs.map((m) => m.toFixed(0)).join(', ')} ms` }),
  ];
}
