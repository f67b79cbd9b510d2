import type { GroupRecord } from '../../spool/groups.js';
import { compareArtifacts } from '../../verify/compare-artifacts.js';
import { esc, layout, outcomeBadge, pathUrl, timeCell } from './html.js';
import { groupBadge } from './repro-badge.js';

// One verify group's page: its builds (run, worker, outcome) and, when it
// differs, each differing path with its size and sha256 in every build.

function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function short(h: string | null): string {
  return h ? `<span class="mono" title="${esc(h)}">${esc(h.slice(0, 16))}…</span>` : '<span class="muted">—</span>';
}

/** Renders /groups/<id>. */
export function renderGroupPage(g: GroupRecord, nonce: string): string {
  const now = Date.now();
  const builds = table(
    ['build', 'run', 'worker', 'outcome', 'finished', 'artifacts'],
    g.members.map((m) => [
      `${m.index} of ${g.builds}`,
      m.run_id ? `<a class="mono" href="/runs/${pathUrl([m.run_id])}/console">${esc(m.run_id)}</a>` : '<span class="muted">—</span>',
      m.worker ? `${esc(m.worker.hostname)} <span class="mono muted">${esc(m.worker.instance ?? m.worker.id)}</span>` : '<span class="muted">—</span>',
      m.outcome ? outcomeBadge(m.outcome) : '<span class="muted">waiting</span>',
      timeCell(m.finished, now),
      `${m.artifacts.length}`,
    ]),
  );
  let found = '';
  if (g.phase === 'decided') {
    const o = g.outcome;
    if (o.kind === 'reproducible') found = `<p>Every build left the same artifacts (paths and SHA-256; the console is not compared).</p>`;
    else if (o.kind === 'incomplete') found = `<p>Not every build succeeded, so nothing was compared: ${esc(o.message)}</p>`;
    else {
      const why = new Map(o.paths.map((p) => [p.path, p.why]));
      const rows = compareArtifacts(g.members.map((m) => m.artifacts))
        .filter((c) => why.has(c.path))
        .map((c) => [`<span class="mono">${esc(c.path)}</span>`, esc(why.get(c.path)!), ...c.sizes.map((s, i) => (s === null ? '<span class="muted">missing</span>' : `${s} B ${short(c.sha256[i] ?? null)}`))]);
      found = `<p>${o.paths.length} path${o.paths.length === 1 ? '' : 's'} differ. Compare two builds with <code>builder-client compare RUN_A RUN_B</code>.</p>${table(['path', 'why', ...g.members.map((m) => `build ${m.index}`)], rows)}`;
    }
  } else found = '<p class="empty">Waiting for every build to finish.</p>';
  const facts: [string, string][] = [
    ['outcome', groupBadge(g)],
    ['builds', `${g.builds}${g.phase === 'decided' && g.distinct ? ` on different ${g.distinct === 'hosts' ? 'hosts' : 'worker processes'}` : ''}`],
    ['created', timeCell(g.created, now)],
    ['decided', g.phase === 'decided' ? timeCell(g.decided, now) : '<span class="muted">not yet</span>'],
    ['script sha256', `<span class="mono">${esc(g.script_sha256)}</span>`],
  ];
  const body = `
<p class="crumbs"><a href="/">← overview</a></p>
<h2 class="title">${esc(g.job)} <span class="muted">on ${esc(g.platform)}, verify group</span></h2>
<section><h2>Group</h2><dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl></section>
<section id="builds"><h2>Builds</h2>${builds}</section>
<section id="found"><h2>Found</h2>${found}</section>`;
  return layout({ title: `${g.job} verify group — builder`, nonce, body });
}
