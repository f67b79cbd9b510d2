import type { ServerState } from '../core/state.js';
import { badge, duration, esc, humanBytes, layout, outcomeBadge, pageOf, pager, pathUrl, platformFilter, runLink, table, timeCell } from './html.js';
import { RESULTS_PER_PAGE } from './page.js';
import type { ResultSummary } from './recent.js';

// One job's page, /jobs/<name>: its schedule entry, what is queued and
// running, its history (runs, outcomes, durations; 25 a page, newest first,
// ?platform=P to narrow) and its script.

function ok(r: ResultSummary): boolean {
  return r.outcome.kind === 'exited' && r.outcome.code === 0;
}

function summary(results: ResultSummary[], now: number): string {
  if (results.length === 0) return '';
  const good = results.filter(ok).length;
  const took = results.map((r) => Date.parse(r.finished) - Date.parse(r.started)).filter((ms) => ms >= 0);
  const mean = took.length ? took.reduce((a, b) => a + b, 0) / took.length : NaN;
  const lastGood = results.find(ok);
  const lastBad = results.find((r) => !ok(r));
  const facts: [string, string][] = [
    ['runs', `${results.length} · ${good} succeeded (${Math.round((100 * good) / results.length)} %)`],
    ['mean duration', `${duration(mean)} <span class="muted">(longest ${duration(Math.max(...took))})</span>`],
    ['last success', lastGood ? `${timeCell(lastGood.finished, now)} ${runLink(lastGood.runId, 'console')}` : '<span class="muted">never</span>'],
    ['last failure', lastBad ? `${timeCell(lastBad.finished, now)} ${outcomeBadge(lastBad.outcome)} ${runLink(lastBad.runId, 'console')}` : '<span class="muted">never</span>'],
  ];
  return `<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** Renders /jobs/<name>, or null when the job is neither scheduled, queued, running nor in the results. */
export function renderJobPage(state: ServerState, name: string, allResults: ResultSummary[], query: URLSearchParams, nonce: string): string | null {
  const now = Date.now();
  const entry = state.schedule.get(name);
  const mineAll = allResults.filter((r) => r.name === name);
  const runs = [...state.runs.values()].filter((r) => r.record.job.name === name);
  const queuedOn = state.queues.platforms().filter((p) => state.queues.list(p).some((q) => q.name === name));
  if (!entry && mineAll.length === 0 && runs.length === 0 && queuedOn.length === 0) return null;
  const path = `/jobs/${pathUrl([name])}`;
  const platforms = [...new Set([...mineAll.map((r) => r.platform), ...queuedOn, ...(entry && entry.platform !== '*' ? [entry.platform] : [])])].sort();
  const platform = query.get('platform');
  const results = platform === null ? mineAll : mineAll.filter((r) => r.platform === platform);

  const when = entry ? (entry.cron ? `cron <code>${esc(entry.cron)}</code>${entry.tz ? ` ${esc(entry.tz)}` : ''}` : esc(entry.period)) : '';
  const facts: [string, string][] = entry
    ? [
        ['platform', entry.platform === '*' ? `every platform with an ${esc(entry.template?.name ?? '')} template` : esc(entry.platform)],
        ['runs', when],
        ['next run', entry.next ? timeCell(entry.next, now) : '<span class="muted">on demand (builder-client execute)</span>'],
        ['timeout', duration(entry.timeout_s * 1000)],
        ...(entry.template ? [['opam package', `<span class="mono">${esc(entry.template.opam_package)}</span>`] as [string, string]] : []),
      ]
    : [['schedule', `${badge('not scheduled', 'muted')} <span class="muted">(unscheduled; its past runs are kept)</span>`]];
  facts.push(['queued', queuedOn.length ? queuedOn.map(esc).join(', ') : '<span class="muted">no</span>']);
  facts.push(['running', runs.length ? runs.map((r) => `${runLink(r.record.run_id, r.record.job.platform)} ${badge(duration(now - Date.parse(r.record.started)), 'run')}`).join(', ') : '<span class="muted">no</span>']);
  const dl = `<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;

  const p = pageOf(results.length, RESULTS_PER_PAGE, query.get('page'));
  const history = table(
    ['finished', 'platform', 'outcome', 'duration', 'console', 'artifacts'],
    results.slice(p.from, p.to).map((r) => [
      timeCell(r.finished, now),
      esc(r.platform),
      outcomeBadge(r.outcome),
      duration(Date.parse(r.finished) - Date.parse(r.started)),
      runLink(r.runId, r.runId.slice(0, 8)),
      r.artifacts.length ? `${r.artifacts.length} ${r.artifacts.length === 1 ? 'file' : 'files'}, ${humanBytes(r.artifacts.reduce((a, f) => a + f.size, 0))}` : '<span class="muted">—</span>',
    ]),
    platform === null ? 'No run of this job has finished yet.' : `No run of this job on ${platform} has finished yet.`,
  );

  const script = !entry
    ? '<p class="empty">Not scheduled: each run page shows the script that run had.</p>'
    : entry.template
      ? `<p class="empty">Built per platform from <code>orb-build.template.&lt;platform&gt;</code> in the config directory; each run page shows the script it ran.</p>`
      : `<pre class="script" id="script">${esc(entry.script)}</pre>`;

  const body = `
<p class="crumbs"><a href="/">← overview</a></p>
<h2 class="title">${esc(name)} <span class="muted">job</span></h2>
${platformFilter(path, platforms, platform)}
<section id="job"><h2>Job</h2>${dl}</section>
<section id="summary"><h2>Summary${platform ? ` on ${esc(platform)}` : ''}</h2>${summary(results, now) || '<p class="empty">No runs yet.</p>'}</section>
<section id="history"><h2>History (${results.length} ${results.length === 1 ? 'run' : 'runs'}, newest first)</h2>${history}${pager(path, query, 'page', p, results.length)}</section>
<section id="job-script"><h2>Script</h2>${script}</section>`;
  return layout({ title: `${name} — builder`, nonce, body, refreshS: runs.length ? 15 : 60 });
}
