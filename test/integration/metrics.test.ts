import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { scheduleJob, startWorker, storedResults, tempDir, waitFor } from './harness.js';
import { monotonicSamples, parsePromText, sampleValue, type Family } from './prom-text.js';
import { startReceiver } from './receiver.js';
import { get, startStatusServer, type StatusServer } from './status-harness.js';

async function scrape(server: StatusServer): Promise<Map<string, Family>> {
  const r = await get(server, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePromText(r.body);
}

test('the format checker rejects what the Prometheus text format forbids', () => {
  const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{k="v\\"q\\n"} 1\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n';
  assert.equal(sampleValue(parsePromText(ok), 'h_count'), 2);
  const bad: [string, RegExp][] = [
    ['1abc 1\n', /bad metric name/],
    ['a{1x="v"} 1\n', /bad label name/],
    ['a{x="\\q"} 1\n', /bad escape/],
    ['a{x=v} 1\n', /needs ="value"/],
    ['a 1', /end with a newline/],
    ['a one\n', /bad value/],
    ['a 1\na 2\n', /duplicate series/],
    ['a 1\nb 1\na{x="y"} 1\n', /not together/],
    ['a 1\n# TYPE a gauge\n', /TYPE of a after its samples/],
    ['# TYPE c counter\nc 1\n', /should end in _total/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /le="\+Inf"/],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /cumulative/],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n', /differs from _count/],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', /needs _sum and _count/],
  ];
  for (const [text, why] of bad) assert.throws(() => parsePromText(text), why, JSON.stringify(text));
});

test('/metrics follows the Prometheus text format and its values change as jobs run', async () => {
  // why no grace: the lost worker's run must be recorded now, not after it fails to come back.
  const server = await startStatusServer(tempDir(), ['--reattach-grace', '0']);
  const scrapes: Map<string, Family>[] = [await scrape(server)];
  const last = () => scrapes[scrapes.length - 1]!;
  const metric = (name: string, labels: Record<string, string> = {}) => sampleValue(last(), name, labels);
  for (const [name, type] of [
    ['builder_queued_jobs', 'gauge'],
    ['builder_running_jobs', 'gauge'],
    ['builder_workers_connected', 'gauge'],
    ['builder_runs_finished_total', 'counter'],
    ['builder_run_duration_seconds', 'histogram'],
    ['builder_spool_write_seconds', 'histogram'],
    ['builder_upload_outbox_runs', 'gauge'],
  ] as const) {
    assert.equal(last().get(name)?.type, type, `${name} is a ${type}`);
    assert.ok(last().get(name)?.help, `${name} has HELP`);
  }
  assert.equal(metric('builder_runs_finished_total', { outcome: 'exited' }), 0);
  assert.equal(metric('builder_run_duration_seconds_count'), 0);
  assert.equal(metric('builder_upload_outbox_runs'), 0);

  // Queued with no worker: the queue gauge shows it, the worker gauge shows nobody to take it.
  const gate = join(tempDir(), 'gate');
  await scheduleJob(server, 'held', 'mu-1', `#!/bin/sh\necho start\nwhile [ ! -e ${gate} ]; do sleep 0.05; done\necho done\n`, ['--period', 'daily']);
  scrapes.push(await scrape(server));
  assert.equal(metric('builder_queued_jobs', { platform: 'mu-1' }), 1);
  assert.equal(metric('builder_workers_connected', { platform: 'mu-1' }), 0);
  assert.ok(metric('builder_spool_write_seconds_count')! > 0, 'scheduling wrote spool records, and their latency was measured');

  // Running: queue empty, one run, one worker.
  const worker = startWorker(server.remote, 'mu-1');
  await waitFor('the run to show in /metrics', async () => {
    scrapes.push(await scrape(server));
    return metric('builder_running_jobs', { platform: 'mu-1' }) === 1;
  });
  assert.equal(metric('builder_queued_jobs', { platform: 'mu-1' }), 0);
  assert.equal(metric('builder_workers_connected', { platform: 'mu-1' }), 1);

  // Finished: the counter and the duration histogram count it.
  writeFileSync(gate, '');
  assert.equal((await worker.exited).code, 0);
  await waitFor('the result to be stored', () => storedResults(server.dir, 'held').length === 1);
  await waitFor('the finished run to be counted', async () => {
    scrapes.push(await scrape(server));
    return metric('builder_runs_finished_total', { outcome: 'exited' }) === 1;
  });
  assert.equal(metric('builder_running_jobs', { platform: 'mu-1' }), 0);
  assert.equal(metric('builder_run_duration_seconds_count'), 1);
  assert.equal(metric('builder_run_duration_seconds_bucket', { le: '+Inf' }), 1);
  assert.ok(metric('builder_run_duration_seconds_sum')! > 0);

  // A failing job counts under the same outcome kind (exited); a lost worker's run counts as failed.
  await scheduleJob(server, 'fails', 'mu-1', '#!/bin/sh\nexit 3\n', ['--period', 'daily']);
  const lostGate = join(tempDir(), 'gate');
  await scheduleJob(server, 'lost', 'nu-1', `#!/bin/sh\necho started\nwhile [ ! -e ${lostGate} ]; do sleep 0.05; done\n`, ['--period', 'daily']);
  assert.equal((await startWorker(server.remote, 'mu-1').exited).code, 0);
  const doomed = startWorker(server.remote, 'nu-1');
  await waitFor('the lost job to run', async () => {
    scrapes.push(await scrape(server));
    return metric('builder_running_jobs', { platform: 'nu-1' }) === 1;
  });
  doomed.child.kill('SIGKILL');
  writeFileSync(lostGate, ''); // the killed worker's job outlives it: let it end
  await waitFor('both runs to be counted', async () => {
    scrapes.push(await scrape(server));
    return metric('builder_runs_finished_total', { outcome: 'exited' }) === 2 && metric('builder_runs_finished_total', { outcome: 'failed' }) === 1;
  });
  assert.equal(metric('builder_run_duration_seconds_count'), 3);
  assert.equal(metric('builder_queued_jobs', { platform: 'nu-1' }), 1, 'the lost run was requeued');

  // Counters and histograms never went down from one scrape to the next, and they did go up.
  for (let i = 1; i < scrapes.length; i++) {
    const before = monotonicSamples(scrapes[i - 1]!);
    for (const [key, v] of monotonicSamples(scrapes[i]!)) {
      const prev = before.get(key);
      if (prev !== undefined) assert.ok(v >= prev, `${key} went down from ${prev} to ${v} between scrapes ${i - 1} and ${i}`);
    }
  }
  const first = monotonicSamples(scrapes[0]!);
  const grown = [...monotonicSamples(last())].filter(([k, v]) => v > (first.get(k) ?? 0)).map(([k]) => k);
  assert.ok(grown.some((k) => k.startsWith('builder_spool_write_seconds_count')));
  assert.ok(grown.some((k) => k.startsWith('builder_runs_finished_total')));
});

test('the upload outbox gauge counts runs waiting for builder-web', async () => {
  const receiver = await startReceiver(() => 503);
  const server = await startStatusServer(tempDir(), ['--upload', receiver.url, '--upload-backoff-ms', '60000']);
  assert.equal(sampleValue(await scrape(server), 'builder_upload_outbox_runs', {}), 0);
  await scheduleJob(server, 'to-upload', 'metrics-up-1', '#!/bin/sh\necho hi\n', ['--period', 'daily']);
  startWorker(server.remote, 'metrics-up-1');
  await waitFor('the receiver to refuse the run once', () => receiver.requests.length >= 1);
  await waitFor('the outbox gauge to show it', async () => sampleValue(await scrape(server), 'builder_upload_outbox_runs', {}) === 1);
  assert.equal(sampleValue(await scrape(server), 'builder_upload_dead_letter_runs', {}), 0);
  await receiver.close();
});
