import type { ScheduleEntry } from '../../spool/records.js';
import type { ServerState } from '../core/state.js';
import { badge, duration, esc, layout, outcomeBadge, pathUrl, timeCell } from './html.js';
import { metricsOf } from './metrics.js';
import { lastResultByJob, type ResultSummary } from './recent.js';
import { reproBadges } from './repro-badge.js';

// The overview page: server-rendered HTML that reads fully without
// JavaScript; it reloads itself every 30 s (a meta refresh, no script).

const RECENT = 25;
const QUEUE_NAMES = 12;

function table(head: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function section(id: string, title: string, inner: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${inner}</section>`;
}

function runLink(runId: string, text: string): string {
  return `<a href="/runs/${pathUrl([runId])}/console">${esc(text)}</a>`;
}

function whenDue(e: ScheduleEntry): string {
  return e.cron ? `<code>${esc(e.cron)}</code>${e.tz ? ` <span class="muted">${esc(e.tz)}</span>` : ''}` : esc(e.period);
}

function artifactLinks(r: ResultSummary): string {
  if (r.artifacts.length === 0) return '<span class="muted">—</span>';
  const shown = r.artifacts.slice(0, 3).map((a) => `<a class="mono" href="/runs/${pathUrl([r.runId])}/artifacts/${pathUrl(a.path.split('/'))}">${esc(a.path)}</a>`);
  const more = r.artifacts.length > 3 ? ` <a class="muted" href="/runs/${pathUrl([r.runId])}/console#artifacts">+${r.artifacts.length - 3} more</a>` : '';
  return shown.join('<br>') + more;
}

/** Renders the overview: counts, running jobs, workers, queues, schedule and recent results. */
export function renderOverview(state: ServerState, results: ResultSummary[], nonce: string): string {
  const now = Date.now();
  const runs = [...state.runs.values()].sort((a, b) => a.record.started.localeCompare(b.record.started));
  const workers = [...state.workers.values()].sort((a, b) => a.facts.platform.localeCompare(b.facts.platform) || a.since.localeCompare(b.since));
  const platforms = [...new Set([...state.queues.platforms(), ...state.paused, ...state.dropped])].sort();
  const schedule = [...state.schedule.values()].sort((a, b) => a.name.localeCompare(b.name));
  const last = lastResultByJob(results);
  const repro = reproBadges(state);
  const finished = [...metricsOf(state).finished.values()].reduce((a, b) => a + b, 0);

  const stat = (n: number, label: string) => `<div class="stat"><b>${n}</b><span>${esc(label)}</span></div>`;
  const stats = `<div class="stats">${stat(workers.length, 'workers')}${stat(state.queues.size(), 'queued')}${stat(runs.length, 'running')}${stat(finished, 'finished since start')}</div>`;

  const running = table(
    ['job', 'platform', 'worker', 'started', 'elapsed', ''],
    runs.map((r) => [
      `<b>${esc(r.record.job.name)}</b>${r.record.retries > 0 ? ` ${badge(`attempt ${r.record.retries + 1}`, 'warn')}` : ''}`,
      esc(r.record.job.platform),
      `<span class="mono">${esc(r.worker.id)}</span> <span class="muted">${esc(r.worker.facts.hostname)}</span>`,
      timeCell(r.record.started, now),
      `${badge(duration(now - Date.parse(r.record.started)), 'run')}${r.phase.kind === 'stopping' ? ` ${badge('stopping', 'warn')}` : ''}`,
      runLink(r.record.run_id, 'live console'),
    ]),
    'Nothing is running.',
  );

  const workerRows = table(
    ['worker', 'platform', 'host', 'system', 'connected since', 'current run'],
    workers.map((w) => {
      const run = w.runId ? state.runs.get(w.runId) : undefined;
      return [
        `<span class="mono">${esc(w.id)}</span>`,
        esc(w.facts.platform),
        `${esc(w.facts.hostname)} <span class="muted">${esc(w.peer)}</span>`,
        `${esc(`${w.facts.os} ${w.facts.release} ${w.facts.arch}`)} <span class="muted">${w.facts.cpus} CPUs</span>`,
        timeCell(w.since, now),
        run ? runLink(run.record.run_id, run.record.job.name) : w.waiting ? badge('idle, waiting', 'muted') : '<span class="muted">—</span>',
      ];
    }),
    'No worker is connected.',
  );

  const queueRows = table(
    ['platform', 'state', 'queued', 'jobs, next first'],
    platforms.map((p) => {
      const q = state.queues.list(p);
      const st = state.dropped.has(p) ? badge('dropped', 'bad') : state.paused.has(p) ? badge('paused', 'warn') : badge('active', 'ok');
      const names = q.slice(0, QUEUE_NAMES).map((e) => esc(e.name)).join(', ') + (q.length > QUEUE_NAMES ? ` <span class="muted">and ${q.length - QUEUE_NAMES} more</span>` : '');
      return [esc(p), st, `${q.length}`, names || '<span class="muted">empty</span>'];
    }),
    'No queue yet.',
  );

  const scheduleRows = table(
    ['job', 'platform', 'runs', 'next run', 'last result'],
    schedule.map((e) => {
      const l = last.get(e.name);
      return [
        `<b>${esc(e.name)}</b>`,
        esc(e.platform),
        whenDue(e),
        e.next ? timeCell(e.next, now) : '<span class="muted">on demand</span>',
        (l ? `${outcomeBadge(l.outcome)} ${runLink(l.runId, 'console')}` : '<span class="muted">never ran</span>') + (repro(e.name) ? ` ${repro(e.name)}` : ''),
      ];
    }),
    'Nothing is scheduled.',
  );

  const recentRows = table(
    ['finished', 'job', 'platform', 'outcome', 'duration', 'console', 'artifacts'],
    results.slice(0, RECENT).map((r) => [
      timeCell(r.finished, now),
      `<b>${esc(r.name)}</b>`,
      esc(r.platform),
      outcomeBadge(r.outcome),
      duration(Date.parse(r.finished) - Date.parse(r.started)),
      runLink(r.runId, 'console'),
      artifactLinks(r),
    ]),
    'No run has finished yet.',
  );

  const body = [
    stats,
    section('running', `Running (${runs.length})`, running),
    section('workers', `Workers (${workers.length})`, workerRows),
    section('queues', 'Queues', queueRows),
    section('schedule', `Schedule (${schedule.length})`, scheduleRows),
    section('results', `Recent results (${Math.min(RECENT, results.length)} of ${results.length})`, recentRows),
    `<p class="muted">Rendered ${esc(new Date(now).toISOString().slice(0, 19).replace('T', ' '))}Z · reloads every 30 s · <a href="/metrics">metrics</a> · <a href="/healthz">health</a></p>`,
  ].join('\n');
  return layout({ title: `builder — ${runs.length} running, ${state.queues.size()} queued`, nonce, body, refreshS: 30 });
}
