import type { ArtifactInfo } from '../../protocol/types.js';
import { ConsoleReader } from '../core/follow-console.js';
import type { ServerState } from '../core/state.js';
import { ANSI_CSS, ansiToHtml } from './ansi.js';
import { badge, duration, esc, humanBytes, jobLink, layout, outcomeBadge, pathUrl, timeCell } from './html.js';
import { reproBadge } from './repro-badge.js';
import { consolePathOf, type FoundRun } from './run-files.js';

// One run's page: facts, the console, artifacts and the script. The console
// so far is rendered on the server (readable without JavaScript, colours as
// spans); a few lines of script scroll it to its newest line and, for a run
// in progress, follow the rest over Server-Sent Events from
// /runs/<id>/events, starting after the last line rendered here.

const TAIL = 2000;

/** `+12.3s` for a console line's offset (nanoseconds since the run started); the script formats the same way. */
function stamp(t: number): string {
  return `+${(t / 1e9).toFixed(1)}s`.padStart(9) + ' ';
}

// Scrolls to the newest line on load, and keeps it in view while following
// unless the reader scrolled up. Live lines are added as text (never HTML),
// so their colours show after a reload; stamp() above is mirrored here.
const SCROLL_SCRIPT = `
const pre=document.getElementById('console');
const toEnd=()=>{pre.scrollTop=pre.scrollHeight;};
toEnd();
document.getElementById('jump').addEventListener('click',e=>{e.preventDefault();toEnd();pre.lastElementChild?.scrollIntoView({block:'end'});});
`;
const FOLLOW_SCRIPT = `
const st=document.getElementById('state'),note=document.getElementById('ended'),end=document.getElementById('console-end');
const stamp=t=>('+'+(t/1e9).toFixed(1)+'s').padStart(9)+' ';
const es=new EventSource(location.pathname.replace(/console$/,'events')+'?from='+pre.dataset.from);
es.onmessage=e=>{const c=JSON.parse(e.data),stick=pre.scrollTop+pre.clientHeight>=pre.scrollHeight-8;
const s=document.createElement('span');s.className='t';s.textContent=stamp(c.t);
pre.insertBefore(s,end);pre.insertBefore(document.createTextNode(c.line.replace(/\\x1b\\[[0-9;:?]*[ -\\/]*[@-~]/g,'')+'\\n'),end);if(stick)toEnd();};
es.addEventListener('end',e=>{es.close();const d=JSON.parse(e.data);st.textContent=d.outcome;st.className='badge '+(d.ok?'ok':'bad');note.hidden=false;document.getElementById('live').hidden=true;});
`;

/** An artifact as the result records it; `sha256` (hex) when the server computed it. */
type Artifact = ArtifactInfo & { sha256?: string };

function artifactList(runId: string, artifacts: Artifact[]): string {
  if (artifacts.length === 0) return '<p class="empty">No artifacts.</p>';
  const total = artifacts.reduce((a, f) => a + f.size, 0);
  const items = artifacts.map((a) => {
    const sha = typeof a.sha256 === 'string' && /^[0-9a-f]{64}$/.test(a.sha256) ? `<br><span class="sha mono">sha256 ${a.sha256}</span>` : '';
    return `<li><a class="mono" href="/runs/${pathUrl([runId])}/artifacts/${pathUrl(a.path.split('/'))}">${esc(a.path)}</a> <span class="muted" title="${a.size} bytes">${humanBytes(a.size)}</span>${sha}</li>`;
  });
  return `<ul class="files">${items.join('')}</ul><div class="note">${artifacts.length} ${artifacts.length === 1 ? 'file' : 'files'}, ${humanBytes(total)}</div>`;
}

async function consoleTail(state: ServerState, runId: string, found: FoundRun): Promise<{ tail: string[]; lines: number }> {
  const tail: string[] = [];
  let lines = 0;
  const reader = new ConsoleReader(consolePathOf(state, runId, found));
  try {
    await reader.readAll((n, c) => {
      tail.push(`<span class="t">${stamp(c.t)}</span>${ansiToHtml(c.line)}\n`);
      if (tail.length > 2 * TAIL) tail.splice(0, tail.length - TAIL);
      lines = n + 1;
    });
  } finally {
    await reader.close();
  }
  if (tail.length > TAIL) tail.splice(0, tail.length - TAIL);
  return { tail, lines };
}

/** Renders a run's page (live or stored). */
export async function renderRunPage(state: ServerState, runId: string, found: FoundRun, nonce: string): Promise<string> {
  const now = Date.now();
  const { tail, lines } = await consoleTail(state, runId, found);
  const live = found.kind === 'live';
  const rec = live ? found.run.record : found.result;
  const worker = live ? found.run.record.worker : found.result.worker;
  const repro = await reproBadge(state, runId, found);
  const facts: [string, string][] = [
    ['status', live ? `<span id="state" class="badge run">running</span>` : outcomeBadge(found.result.outcome)],
    ...(repro ? [['reproducible', repro] as [string, string]] : []),
    ['platform', esc(rec.job.platform)],
    ['run id', `<span class="mono">${esc(runId)}</span>`],
    ['started', timeCell(rec.started, now)],
    live
      ? ['elapsed', duration(now - Date.parse(rec.started))]
      : ['finished', `${timeCell(found.result.finished, now)} · took ${duration(Date.parse(found.result.finished) - Date.parse(rec.started))}`],
    ['worker', worker ? `<span class="mono">${esc(worker.id)}</span> ${esc(worker.facts.hostname)} <span class="muted">${esc(worker.peer)}</span>` : '—'],
    ['attempt', `${rec.retries + 1}${rec.retries > 0 ? ` ${badge('retried', 'warn')}` : ''}`],
  ];
  const dl = `<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  const skipped = lines - tail.length;
  const consoleNote = [
    `<a href="#console-end" id="jump">jump to the end</a>`,
    skipped > 0 ? `${skipped} earlier lines not shown.` : '',
    `<a href="/runs/${pathUrl([runId])}/console.txt">plain text</a>`,
    live ? `<span id="ended" hidden>The run ended: <a href="">reload</a> for its artifacts.</span>` : '',
  ].filter(Boolean);
  const body = `
<p class="crumbs"><a href="/">← overview</a> · <a href="/jobs/${pathUrl([rec.job.name])}">all runs of ${esc(rec.job.name)}</a></p>
<h2 class="title">${jobLink(rec.job.name)} <span class="muted">on ${esc(rec.job.platform)}</span></h2>
<section id="run"><h2>Run</h2>${dl}</section>
<section id="console-section"><h2>Console${live ? ` <span id="live" class="badge run">following live</span>` : ` (${lines} lines)`}</h2><pre id="console" class="console" data-from="${lines}">${tail.join('')}<span id="console-end"></span></pre>
<div class="note">${consoleNote.join(' · ')}</div></section>
<section id="artifacts"><h2>Artifacts</h2>${live ? '<p class="empty">Artifacts arrive when the run ends.</p>' : artifactList(runId, found.result.artifacts)}</section>
<section id="script-section"><h2>Script</h2><pre class="script" id="script">${esc(rec.job.script)}</pre></section>`;
  return layout({ title: `${rec.job.name}${live ? ' (running)' : ''} — builder`, nonce, body, css: ANSI_CSS, script: SCROLL_SCRIPT + (live ? FOLLOW_SCRIPT : '') });
}
