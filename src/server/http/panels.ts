import { maskSecrets } from '../../shared/secrets.js';
import type { ServerState } from '../core/state.js';
import type { UploadPanel } from '../uploads/upload.js';
import { badge, esc, jobLink, runLink, section, table, timeCell } from './html.js';

// The overview's panels about what needs the operator: problems (missing or
// unreadable templates, queues no worker serves) and the upload to
// builder-web (outbox, dead letters).

/** Platforms with queued jobs and no connected worker, that are neither paused nor dropped. */
export function unservedQueues(state: ServerState): string[] {
  const served = new Set([...state.workers.values()].map((w) => w.facts.platform));
  return state.queues.platforms().filter((p) => state.queues.list(p).length > 0 && !served.has(p) && !state.paused.has(p) && !state.dropped.has(p));
}

/** The problems panel: red when there is any, a calm line when there is none. */
export function problemsPanel(state: ServerState, uploads: UploadPanel | undefined): string {
  const dead = uploads?.dead_letter ?? 0;
  const items = [
    ...(dead > 0 ? [`${dead} ${dead === 1 ? 'run' : 'runs'} refused by builder-web for good: see <a href="#uploads">Uploads</a>`] : []),
    ...[...state.problems.values()].sort().map((p) => esc(p)),
    ...unservedQueues(state).map((p) => `${esc(p)}: ${state.queues.list(p).length} queued and no worker connected for this platform (start builder-worker ${esc(p)}, or check its spelling)`),
  ];
  if (items.length === 0) return section('problems', 'Problems', '<p class="empty">No problems.</p>');
  return section('problems', `Problems (${items.length})`, `<ul class="panel-list">${items.map((i) => `<li>${i}</li>`).join('')}</ul>`, 'alert');
}

/** The upload panel: where results go, how many wait, what was refused for good. */
export function uploadsPanel(u: UploadPanel | undefined, now: number): string {
  if (!u || u.url === null) {
    return section('uploads', 'Uploads', '<p class="empty">No --upload: finished runs are kept in the spool (results/).</p>');
  }
  const facts = `<dl><dt>target</dt><dd class="mono">${esc(maskSecrets(u.url))}</dd><dt>outbox</dt><dd>${u.outbox === 0 ? badge('empty', 'ok') : badge(`${u.outbox} waiting`, 'warn')}</dd><dt>dead letters</dt><dd>${u.dead_letter === 0 ? badge('none', 'ok') : badge(`${u.dead_letter} refused`, 'bad')}</dd></dl>`;
  const waiting = u.waiting.length
    ? `<h2>Waiting, next attempt first</h2>${table(
        ['job', 'run', 'attempts', 'next attempt', 'last error'],
        u.waiting.map((w) => [jobLink(w.job), runLink(w.run_id, w.run_id.slice(0, 8)), String(w.attempts), timeCell(w.next_attempt, now), w.last_error ? esc(maskSecrets(w.last_error)) : '<span class="muted">—</span>']),
        '',
      )}`
    : '';
  const dead = u.dead.length
    ? `<h2>Dead letters (newest ${u.dead.length}; to retry: mv them from dead-letter/ to outbox/, restart the server)</h2>${table(
        ['job', 'run', 'attempts', 'why'],
        u.dead.map((d) => [jobLink(d.job), runLink(d.run_id, d.run_id.slice(0, 8)), String(d.attempts), esc(maskSecrets(d.dead_reason ?? ''))]),
        '',
      )}`
    : '';
  const kind = u.dead_letter > 0 ? 'alert' : u.outbox > 0 ? 'caution' : undefined;
  return section('uploads', `Uploads (${u.outbox} waiting, ${u.dead_letter} dead)`, facts + waiting + dead, kind);
}
