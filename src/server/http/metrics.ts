import type { Outcome } from '../../protocol/types.js';
import { VERSION } from '../../shared/version.js';
import type { ResultRecord } from '../../spool/records.js';
import type { ServerState } from '../core/state.js';
import { decidedSince, jobsDiffering } from '../core/verify.js';

// The server's Prometheus metrics. Gauges are read from ServerState when
// /metrics is scraped; counters and histograms count since the server
// started: finished runs are counted from the core's run_stored event
// (countStoredRuns), spool write durations by the writeAtomic hook the status
// server installs.

/** A cumulative histogram with fixed upper bounds (seconds). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  /** Counts one observation. */
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) this.counts[i]!++;
  }
}

const OUTCOME_KINDS: readonly Outcome['kind'][] = ['exited', 'signalled', 'stopped', 'failed'];

/** The counters of one server. */
export class Metrics {
  /** When the counters started (verify groups decided since then are counted from their records). */
  readonly since = Date.now() - process.uptime() * 1000;
  readonly finished = new Map<Outcome['kind'], number>(OUTCOME_KINDS.map((k) => [k, 0]));
  readonly runDuration = new Histogram([1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400]);
  readonly spoolWrite = new Histogram([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
}

const registry = new WeakMap<ServerState, Metrics>();

/** The metrics of a server (created on first use). */
export function metricsOf(state: ServerState): Metrics {
  let m = registry.get(state);
  if (!m) registry.set(state, (m = new Metrics()));
  return m;
}

/** Subscribes the counters to the core: every stored run (final or requeued attempt) is counted. */
export function countStoredRuns(state: ServerState): void {
  state.events.on('run_stored', ({ result }) => countFinishedRun(state, result));
}

/** Counts a stored run: its outcome kind and its duration. */
export function countFinishedRun(state: ServerState, result: ResultRecord): void {
  const m = metricsOf(state);
  m.finished.set(result.outcome.kind, (m.finished.get(result.outcome.kind) ?? 0) + 1);
  const seconds = (Date.parse(result.finished) - Date.parse(result.started)) / 1000;
  if (Number.isFinite(seconds)) m.runDuration.observe(Math.max(0, seconds));
}

function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

function family(out: string[], name: string, type: 'gauge' | 'counter' | 'histogram', help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function histogram(out: string[], name: string, h: Histogram): void {
  h.bounds.forEach((b, i) => out.push(`${name}_bucket{le="${num(b)}"} ${h.counts[i]}`));
  out.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${num(h.sum)}`, `${name}_count ${h.count}`);
}

/** The Prometheus text exposition (format 0.0.4) of a server's state and counters. */
export function renderMetrics(state: ServerState, upload?: { outbox: number; dead_letter: number }): string {
  const m = metricsOf(state);
  const platforms = new Set(state.queues.platforms());
  const workers = new Map<string, number>();
  const running = new Map<string, number>();
  for (const w of state.workers.values()) workers.set(w.facts.platform, (workers.get(w.facts.platform) ?? 0) + 1);
  for (const r of state.runs.values()) running.set(r.record.job.platform, (running.get(r.record.job.platform) ?? 0) + 1);
  for (const p of [...workers.keys(), ...running.keys()]) platforms.add(p);
  const sorted = [...platforms].sort();
  const perPlatform = (name: string, value: (p: string) => number) => {
    for (const p of sorted) out.push(`${name}{platform="${labelValue(p)}"} ${value(p)}`);
  };
  const out: string[] = [];
  family(out, 'builder_build_info', 'gauge', 'The running builder-server version (always 1).');
  out.push(`builder_build_info{version="${labelValue(VERSION)}"} 1`);
  family(out, 'builder_queued_jobs', 'gauge', 'Jobs waiting on a platform queue.');
  perPlatform('builder_queued_jobs', (p) => state.queues.list(p).length);
  family(out, 'builder_running_jobs', 'gauge', 'Runs in progress on a platform.');
  perPlatform('builder_running_jobs', (p) => running.get(p) ?? 0);
  family(out, 'builder_workers_connected', 'gauge', 'Workers connected for a platform.');
  perPlatform('builder_workers_connected', (p) => workers.get(p) ?? 0);
  family(out, 'builder_runs_finished_total', 'counter', 'Runs stored since the server started, by outcome kind (lost and timed-out attempts are failed).');
  for (const [kind, n] of m.finished) out.push(`builder_runs_finished_total{outcome="${kind}"} ${n}`);
  family(out, 'builder_run_duration_seconds', 'histogram', 'Duration of runs stored since the server started.');
  histogram(out, 'builder_run_duration_seconds', m.runDuration);
  family(out, 'builder_spool_write_seconds', 'histogram', 'Duration of atomic spool record writes (write, fsync, rename, fsync dir).');
  histogram(out, 'builder_spool_write_seconds', m.spoolWrite);
  family(out, 'builder_verify_groups_total', 'counter', 'Verify groups decided since the server started, by outcome (reproducible, differs, incomplete).');
  for (const [kind, n] of decidedSince(state, m.since)) out.push(`builder_verify_groups_total{outcome="${kind}"} ${n}`);
  family(out, 'builder_verify_jobs_differing', 'gauge', 'Jobs whose latest decided verify group differs (not reproducible).');
  out.push(`builder_verify_jobs_differing ${jobsDiffering(state)}`);
  family(out, 'builder_upload_outbox_runs', 'gauge', 'Finished runs waiting to be uploaded to builder-web (0 without --upload).');
  out.push(`builder_upload_outbox_runs ${upload?.outbox ?? 0}`);
  family(out, 'builder_upload_dead_letter_runs', 'gauge', 'Runs the upload receiver kept refusing, kept in dead-letter/.');
  out.push(`builder_upload_dead_letter_runs ${upload?.dead_letter ?? 0}`);
  return out.join('\n') + '\n';
}
