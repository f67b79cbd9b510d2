import type { ArtifactInfo } from '../../protocol/types.js';
import { ConsoleReader } from '../core/follow-console.js';
import type { ServerState } from '../core/state.js';
import { badge, duration, esc, layout, outcomeBadge, pathUrl, timeCell } from './html.js';
import { consolePathOf, type FoundRun } from './run-files.js';
import { groupBadge } from './repro-badge.js';
import { readGroupRecord } from '../core/verify.js';

// One run's page: facts, artifacts and the console. The console so far is
// rendered on the server (readable without JavaScript); for a run in
// progress a few lines of script follow the rest over Server-Sent Events
// from /runs/<id>/events, starting after the last line rendered here.

const TAIL = 2000;

/** `+12.3s` for a console line's offset (nanoseconds since the run started); the script formats the same way. */
function stamp(t: number): string {
  return `+${(t / 1e9).toFixed(1)}s`.padStart(9) + ' ';
}

// Kept in step with stamp() above.
const FOLLOW_SCRIPT = `
const pre=document.getElementById('console'),st=document.getElementById('state'),note=document.getElementById('ended');
const stamp=t=>('+'+(t/1e9).toFixed(1)+'s').padStart(9)+' ';
pre.scrollTop=pre.scrollHeight;
const es=new EventSource(location.pathname.replace(/console$/,'events')+'?from='+pre.dataset.from);
es.onmessage=e=>{const c=JSON.parse(e.data),stick=pre.scrollTop+pre.clientHeight>=pre.scrollHeight-8;
const s=document.createElement('span');s.className='t';s.textContent=stamp(c.t);pre.append(s,c.line+'\\n');if(stick)pre.scrollTop=pre.scrollHeight;};
es.addEventListener('end',e=>{es.close();const d=JSON.parse(e.data);st.textContent=d.outcome;st.className='badge '+(d.ok?'ok':'bad');note.hidden=false;document.getElementById('live').hidden=true;});
`;

function artifactList(runId: string, artifacts: ArtifactInfo[]): string {
  if (artifacts.length === 0) return '<p class="empty">No artifacts.</p>';
  const items = artifacts.map(
    (a) =>
      `<li><a class="mono" href="/runs/${pathUrl([runId])}/artifacts/${pathUrl(a.path.split('/'))}">${esc(a.path)}</a> <span class="muted">${a.size} bytes</span>` +
      ` <span class="mono muted">sha256 ${a.sha256 ? esc(a.sha256) : '(not recorded)'}</span></li>`,
  );
  return `<ul class="files">${items.join('')}</ul>`;
}

/** Renders a run's page (live or stored). */
export async function renderRunPage(state: ServerState, runId: string, found: FoundRun, nonce: string): Promise<string> {
  const now = Date.now();
  const tail: string[] = [];
  let lines = 0;
  const reader = new ConsoleReader(consolePathOf(state, runId, found));
  try {
    await reader.readAll((n, c) => {
      tail.push(`<span class="t">${stamp(c.t)}</span>${esc(c.line)}\n`);
      if (tail.length > 2 * TAIL) tail.splice(0, tail.length - TAIL);
      lines = n + 1;
    });
  } finally {
    await reader.close();
  }
  if (tail.length > TAIL) tail.splice(0, tail.length - TAIL);
  const live = found.kind === 'live';
  const rec = live ? found.run.record : found.result;
  const worker = live ? found.run.record.worker : found.result.worker;
  const facts: [string, string][] = [
    ['status', live ? `<span id="state" class="badge run">running</span>` : outcomeBadge(found.result.outcome)],
    ['platform', esc(rec.job.platform)],
    ['run id', `<span class="mono">${esc(runId)}</span>`],
    ['started', timeCell(rec.started, now)],
    live
      ? ['elapsed', duration(now - Date.parse(rec.started))]
      : ['finished', `${timeCell(found.result.finished, now)} · took ${duration(Date.parse(found.result.finished) - Date.parse(rec.started))}`],
    ['worker', worker ? `<span class="mono">${esc(worker.id)}</span> ${esc(worker.facts.hostname)} <span class="muted">${esc(worker.peer)}</span>` : '—'],
    ['attempt', `${rec.retries + 1}${rec.retries > 0 ? ` ${badge('retried', 'warn')}` : ''}`],
  ];
  const tag = rec.group;
  if (tag) {
    const g = await readGroupRecord(state, tag.id);
    facts.push(['verify', `build ${tag.index} of ${tag.of} ${g ? groupBadge(g) : badge('no group record', 'muted')}`]);
  }
  const dl = `<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const skipped = lines - tail.length;
  const consoleNote = [
    skipped > 0 ? `${skipped} earlier lines not shown.` : '',
    `<a href="/runs/${pathUrl([runId])}/console.txt">plain text</a>`,
    live ? `<span id="ended" hidden>The run ended: <a href="">reload</a> for its artifacts.</span>` : '',
  ].filter(Boolean);
  const body = `
<p class="crumbs"><a href="/">← overview</a></p>
<h2 class="title">${esc(rec.job.name)} <span class="muted">on ${esc(rec.job.platform)}</span></h2>
<section><h2>Run</h2>${dl}</section>
<section id="artifacts"><h2>Artifacts</h2>${live ? '<p class="empty">Artifacts arrive when the run ends.</p>' : artifactList(runId, found.result.artifacts)}</section>
<section><h2>Console${live ? ` <span id="live" class="badge run">following live</span>` : ` (${lines} lines)`}</h2><pre id="console" class="console" data-from="${lines}">${tail.join('')}</pre>
<div class="note">${consoleNote.join(' · ')}</div></section>`;
  return layout({ title: `${rec.job.name}${live ? ' (running)' : ''} — builder`, nonce, body, ...(live ? { script: FOLLOW_SCRIPT } : {}) });
}
