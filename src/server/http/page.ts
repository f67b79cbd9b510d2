import type { ScheduleEntry } from '../../spool/records.js';
import { departedWorkers } from './departed-workers.js';
import type { ServerState } from '../core/state.js';
import type { UploadPanel } from '../uploads/upload.js';
import { badge, duration, esc, jobLink, layout, outcomeBadge, pageOf, pager, pathUrl, platformFilter, runLink, section, table, timeCell, withQuery } from './html.js';
import { metricsOf } from './metrics.js';
import { problemsPanel, unservedQueues, uploadsPanel } from './panels.js';
import { lastResultByJob, type ResultSummary } from './recent.js';
import { reproBadges } from './repro-badge.js';

// The overview page: server-rendered HTML that reads fully without
// JavaScript; it reloads itself every 30 s (a meta refresh, no script).
// Long lists are paged (?schedule_page=N, ?results_page=N), so the page
// stays small with any schedule; ?platform=P narrows every list to one platform.

/** Results per page, here and on a job's page. */
export const RESULTS_PER_PAGE = 25;
/** Schedule entries per page. */
export const SCHEDULE_PER_PAGE = 100;
const QUEUE_NAMES = 12;

function whenDue(e: ScheduleEntry): string {
  return e.cron ? `<code>${esc(e.cron)}</code>${e.tz ? ` <span class="muted">${esc(e.tz)}</span>` : ''}` : esc(e.period);
}

function artifactLinks(r: ResultSummary): string {
  if (r.artifacts.length === 0) return '<span class="muted">—</span>';
  const shown = r.artifacts.slice(0, 3).map((a) => `<a class="mono" href="/runs/${pathUrl([r.runId])}/artifacts/${pathUrl(a.path.split('/'))}">${esc(a.path)}</a>`);
  const more = r.artifacts.length > 3 ? ` <a class="muted" href="/runs/${pathUrl([r.runId])}/console#artifacts">+${r.artifacts.length - 3} more</a>` : '';
  return shown.join('<br>') + more;
}

/** The result rows both the overview and a job's page show. */
export function resultRows(results: ResultSummary[], now: number, withJob: boolean): string[][] {
  return results.map((r) => [
    timeCell(r.finished, now),
    ...(withJob ? [jobLink(r.name)] : []),
    esc(r.platform),
    outcomeBadge(r.outcome),
    duration(Date.parse(r.finished) - Date.parse(r.started)),
    runLink(r.runId, 'console'),
    artifactLinks(r),
  ]);
}

function workersSection(state: ServerState, now: number, platform: string | null): string {
  const mine = (p: string) => platform === null || p === platform;
  const workers = [...state.workers.values()].filter((w) => mine(w.facts.platform)).sort((a, b) => a.facts.platform.localeCompare(b.facts.platform) || a.since.localeCompare(b.since));
  const gone = departedWorkers(state).filter((d) => mine(d.platform));
  const rows = [
    ...workers.map((w) => {
      const run = w.runId ? state.runs.get(w.runId) : undefined;
      return [
        `<span class="mono">${esc(w.id)}</span>`,
        esc(w.facts.platform),
        `${esc(w.facts.hostname)} <span class="muted">${esc(w.peer)}</span>`,
        `${esc(`${w.facts.os} ${w.facts.release} ${w.facts.arch}`)} <span class="muted">${w.facts.cpus} CPUs</span>`,
        `${badge('connected', 'ok')} since ${timeCell(w.since, now)}`,
        run ? runLink(run.record.run_id, run.record.job.name) : w.waiting ? badge('idle, waiting', 'muted') : '<span class="muted">—</span>',
      ];
    }),
    ...gone.map((d) => [
      `<span class="mono">${esc(d.id)}</span>`,
      esc(d.platform),
      `${esc(d.hostname)} <span class="muted">${esc(d.peer)}</span>`,
      esc(d.system),
      `${badge('disconnected', 'muted')} last seen ${timeCell(d.lastSeen, now)}`,
      `<span class="muted">${esc(d.why)}</span>`,
    ]),
  ];
  const title = `Workers (${workers.length} connected${gone.length ? `, ${gone.length} gone` : ''})`;
  return section('workers', title, table(['worker', 'platform', 'host', 'system', 'state', 'current run'], rows, 'No worker is connected.', (i) => (i >= workers.length ? 'gone' : '')));
}

function queuesSection(state: ServerState, platforms: string[]): string {
  const unserved = new Set(unservedQueues(state));
  const rows = platforms.map((p) => {
    const q = state.queues.list(p);
    const st = state.dropped.has(p)
      ? badge('dropped', 'bad')
      : state.paused.has(p)
        ? badge('paused', 'warn')
        : unserved.has(p)
          ? badge('no worker', 'bad')
          : badge('active', 'ok');
    const names = q.slice(0, QUEUE_NAMES).map((e) => esc(e.name)).join(', ') + (q.length > QUEUE_NAMES ? ` <span class="muted">and ${q.length - QUEUE_NAMES} more</span>` : '');
    return [esc(p), st, `${q.length}`, names || '<span class="muted">empty</span>'];
  });
  return section('queues', 'Queues', table(['platform', 'state', 'queued', 'jobs, next first'], rows, 'No queue yet.'));
}

/** Renders the overview: counts, problems, uploads, running jobs, workers, queues, schedule and recent results. */
export function renderOverview(state: ServerState, results: ResultSummary[], uploads: UploadPanel | undefined, query: URLSearchParams, nonce: string): string {
  const now = Date.now();
  const allPlatforms = [...new Set([...state.queues.platforms(), ...state.paused, ...state.dropped, ...[...state.workers.values()].map((w) => w.facts.platform)])].sort();
  const platform = query.get('platform');
  const mine = (p: string) => platform === null || p === platform;
  const runs = [...state.runs.values()].filter((r) => mine(r.record.job.platform)).sort((a, b) => a.record.started.localeCompare(b.record.started));
  // Template jobs (platform `*`) run on every platform, so a filter keeps them.
  const schedule = [...state.schedule.values()].filter((e) => mine(e.platform) || e.platform === '*').sort((a, b) => a.name.localeCompare(b.name));
  const shownResults = platform === null ? results : results.filter((r) => r.platform === platform);
  const last = lastResultByJob(shownResults);
  const repro = reproBadges(state);
  const finished = [...metricsOf(state).finished.values()].reduce((a, b) => a + b, 0);

  const stat = (n: number, label: string) => `<div class="stat"><b>${n}</b><span>${esc(label)}</span></div>`;
  const stats = `<div class="stats">${stat(state.workers.size, 'workers')}${stat(state.queues.size(), 'queued')}${stat(state.runs.size, 'running')}${stat(finished, 'finished since start')}</div>`;

  const running = table(
    ['job', 'platform', 'worker', 'started', 'elapsed', ''],
    runs.map((r) => [
      `${jobLink(r.record.job.name)}${r.record.retries > 0 ? ` ${badge(`attempt ${r.record.retries + 1}`, 'warn')}` : ''}`,
      esc(r.record.job.platform),
      `<span class="mono">${esc(r.worker.id)}</span> <span class="muted">${esc(r.worker.facts.hostname)}</span>`,
      timeCell(r.record.started, now),
      `${badge(duration(now - Date.parse(r.record.started)), 'run')}${r.phase.kind === 'stopping' ? ` ${badge('stopping', 'warn')}` : ''}`,
      runLink(r.record.run_id, 'live console'),
    ]),
    'Nothing is running.',
  );

  const sp = pageOf(schedule.length, SCHEDULE_PER_PAGE, query.get('schedule_page'));
  const scheduleRows = table(
    ['job', 'platform', 'runs', 'next run', 'last result'],
    schedule.slice(sp.from, sp.to).map((e) => {
      const l = last.get(e.name);
      return [
        jobLink(e.name, withQuery(new URLSearchParams(), { platform })),
        e.platform === '*' ? `<span class="muted">every platform with ${esc(e.template?.name ?? 'a')} template</span>` : esc(e.platform),
        whenDue(e),
        e.next ? timeCell(e.next, now) : '<span class="muted">on demand</span>',
        (l ? `${outcomeBadge(l.outcome)} ${runLink(l.runId, 'console')}` : '<span class="muted">never ran</span>') + (repro(e.name) ? ` ${repro(e.name)}` : ''),
      ];
    }),
    platform === null ? 'Nothing is scheduled.' : `Nothing is scheduled for ${platform}.`,
  );

  const rp = pageOf(shownResults.length, RESULTS_PER_PAGE, query.get('results_page'));
  const recentRows = table(['finished', 'job', 'platform', 'outcome', 'duration', 'console', 'artifacts'], resultRows(shownResults.slice(rp.from, rp.to), now, true), 'No run has finished yet.');

  const body = [
    stats,
    platformFilter('/', allPlatforms, platform),
    problemsPanel(state, uploads),
    section('running', `Running (${runs.length})`, running),
    workersSection(state, now, platform),
    queuesSection(state, allPlatforms.filter(mine)),
    section('schedule', `Schedule (${schedule.length})`, scheduleRows + pager('/', query, 'schedule_page', sp, schedule.length)),
    section('results', `Results (${shownResults.length})`, recentRows + pager('/', query, 'results_page', rp, shownResults.length)),
    uploadsPanel(uploads, now),
    `<p class="muted">Rendered ${esc(new Date(now).toISOString().slice(0, 19).replace('T', ' '))}Z · reloads every 30 s · <a href="/metrics">metrics</a> · <a href="/healthz">health</a></p>`,
  ].join('\n');
  return layout({ title: `builder — ${state.runs.size} running, ${state.queues.size()} queued`, nonce, body, refreshS: 30 });
}
