import type { Outcome } from '../../protocol/types.js';
import { describeOutcome } from '../../protocol/types.js';
import { VERSION } from '../../shared/version.js';

// Shared pieces of the status pages: escaping, the page shell with its
// inline CSS, and how times, durations and outcomes read.

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A URL path segment (run ids, artifact path parts) percent-encoded. */
export function pathUrl(parts: string[]): string {
  return parts.map(encodeURIComponent).join('/');
}

/** `2024-05-01 12:03:04Z`, or an em dash for a missing or unreadable time. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? esc(iso) : d.toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}

/** A duration as people read it: `850 ms`, `42 s`, `3 min 4 s`, `2 h 5 min`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** A time relative to now: `in 4 min`, `3 h ago`. */
export function relative(iso: string | null, now: number): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return t >= now ? `in ${duration(t - now)}` : `${duration(now - t)} ago`;
}

/** A `<time>` element with the absolute time and, beside it, the relative one. */
export function timeCell(iso: string | null, now: number): string {
  if (!iso) return '<span class="muted">—</span>';
  return `<time datetime="${esc(iso)}">${when(iso)}</time> <span class="muted">${esc(relative(iso, now))}</span>`;
}

/** A size as people read it: `512 B`, `3.4 KiB`, `12 MiB`, `1.5 GiB`. */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** A query string from the current one with `changes` applied (null removes a key); `?` included, or '' when empty. */
export function withQuery(query: URLSearchParams, changes: Record<string, string | number | null>): string {
  const q = new URLSearchParams(query);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '' || (k.endsWith('page') && v === 1)) q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${esc(s)}` : '';
}

/** Page N of `total` items, `size` per page: clamped to the pages there are (pages count from 1). */
export function pageOf(total: number, size: number, asked: string | null): { page: number; pages: number; from: number; to: number } {
  const pages = Math.max(1, Math.ceil(total / size));
  const n = Number(asked ?? 1);
  const page = Number.isInteger(n) ? Math.min(Math.max(n, 1), pages) : 1;
  return { page, pages, from: (page - 1) * size, to: Math.min(page * size, total) };
}

/** "newer / page 2 of 7 / older" links for a paged list, keyed by `param` in the query. */
export function pager(path: string, query: URLSearchParams, param: string, p: { page: number; pages: number; from: number; to: number }, total: number): string {
  if (p.pages <= 1) return '';
  const link = (n: number, text: string, rel: string) => `<a rel="${rel}" href="${esc(path)}${withQuery(query, { [param]: n })}">${text}</a>`;
  const prev = p.page > 1 ? link(p.page - 1, '← previous', 'prev') : '<span class="muted">← previous</span>';
  const next = p.page < p.pages ? link(p.page + 1, 'next →', 'next') : '<span class="muted">next →</span>';
  return `<div class="note pager">${prev} · page ${p.page} of ${p.pages} (${p.from + 1}–${p.to} of ${total}) · ${next}</div>`;
}

/** A table, or a one-line note when there are no rows; cells are HTML already. */
export function table(head: string[], rows: string[][], empty: string, rowClass?: (i: number) => string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r, i) => `<tr${rowClass?.(i) ? ` class="${rowClass(i)}"` : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`);
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr.join('')}</tbody></table>`;
}

/** A titled card; `kind` alert (red) or caution (yellow) for panels that need the operator. */
export function section(id: string, title: string, inner: string, kind?: 'alert' | 'caution'): string {
  return `<section id="${id}"${kind ? ` class="${kind}"` : ''}><h2>${esc(title)}</h2>${inner}</section>`;
}

/** A link to a run's page. */
export function runLink(runId: string, text: string): string {
  return `<a href="/runs/${pathUrl([runId])}/console">${esc(text)}</a>`;
}

/** A link to a job's history page (job names are file-name safe, still encoded). */
export function jobLink(name: string, query = ''): string {
  return `<a href="/jobs/${pathUrl([name])}${query}"><b>${esc(name)}</b></a>`;
}

/** The platform chips: "all" and one per platform, the chosen one bold; links keep the path. */
export function platformFilter(path: string, platforms: string[], chosen: string | null): string {
  if (platforms.length < 2 && chosen === null) return '';
  const chip = (p: string | null, text: string) =>
    p === chosen ? `<b>${esc(text)}</b>` : `<a href="${esc(path)}${p === null ? '' : `?platform=${encodeURIComponent(p)}`}">${esc(text)}</a>`;
  return `<nav class="filter" id="platforms"><span class="muted">platform:</span>${chip(null, 'all')}${platforms.map((p) => chip(p, p)).join('')}</nav>`;
}

/** A coloured badge for an outcome: green for exit 0, red otherwise. */
export function outcomeBadge(o: Outcome | null): string {
  if (!o) return badge('unknown', 'muted');
  const ok = o.kind === 'exited' && o.code === 0;
  const text = describeOutcome(o);
  const short = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  return `<span class="badge ${ok ? 'ok' : 'bad'}" title="${esc(text)}">${esc(short)}</span>`;
}

/** A small label: kind is ok, bad, run, warn or muted. */
export function badge(text: string, kind: 'ok' | 'bad' | 'run' | 'warn' | 'muted'): string {
  return `<span class="badge ${kind}">${esc(text)}</span>`;
}

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--fg:#1d2330;--muted:#6b7385;--line:#e3e6ec;--accent:#2f6fdb;
--ok:#1c7c43;--okbg:#e3f5ea;--bad:#b42318;--badbg:#fdecea;--run:#1d5fc4;--runbg:#e6effc;--warn:#8a5a00;--warnbg:#fff4d6;--code:#0f1420;--codefg:#d7dde8}
@media (prefers-color-scheme:dark){:root{--bg:#12151c;--card:#1a1e27;--fg:#e4e7ee;--muted:#8d95a7;--line:#2a303c;--accent:#7aa7ff;
--ok:#6fd39a;--okbg:#163324;--bad:#ff8a80;--badbg:#3a1b1b;--run:#8ab4ff;--runbg:#1b2a44;--warn:#f2c14e;--warnbg:#3a300f}}
*{box-sizing:border-box}[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{background:var(--card);border-bottom:1px solid var(--line);padding:12px 24px;display:flex;gap:16px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header h1 a{color:inherit;text-decoration:none}
header .muted{font-size:13px}
main{max-width:1200px;margin:0 auto;padding:16px 24px 40px}
.stats{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:130px}
.stat b{display:block;font-size:22px}.stat span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-bottom:16px;overflow:hidden}
section h2{font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:0;padding:10px 16px;border-bottom:1px solid var(--line)}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:7px 16px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;font-size:12px;color:var(--muted)}
tr:last-child td{border-bottom:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.empty{margin:0;padding:12px 16px;color:var(--muted)}
.crumbs{margin:0 0 8px}h2.title{font-size:22px;margin:0 0 14px}h2.title .muted{font-size:15px;font-weight:400}
section h2 .badge{text-transform:none;letter-spacing:0;margin-left:6px}
.muted{color:var(--muted)}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.ok{color:var(--ok);background:var(--okbg)}.badge.bad{color:var(--bad);background:var(--badbg)}
.badge.run{color:var(--run);background:var(--runbg)}.badge.warn{color:var(--warn);background:var(--warnbg)}
.badge.muted{color:var(--muted);background:var(--bg)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;margin:0;padding:12px 16px}
dt{color:var(--muted)}dd{margin:0}
#run dl{grid-template-columns:max-content 1fr max-content 1fr}
/* The console fits the window below the run's facts, so its newest lines show without scrolling the page. */
pre.console{margin:0;background:var(--code);color:var(--codefg);padding:12px 16px;overflow:auto;max-height:max(220px,calc(100vh - 420px));
font:12.5px/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
pre.console .t{color:#7d8799;user-select:none}
.note{padding:8px 16px;color:var(--muted);font-size:13px;border-top:1px solid var(--line)}
ul.files{margin:0;padding:10px 16px 10px 34px}ul.files li{margin:2px 0}
.sha{font-size:11.5px;color:var(--muted);word-break:break-all}
.panel-list{margin:0;padding:8px 16px 10px 34px}.panel-list li{margin:3px 0}
section.alert{border-color:var(--bad)}section.alert>h2:first-child{color:var(--bad);background:var(--badbg)}
section.caution>h2:first-child{color:var(--warn);background:var(--warnbg)}section>h2:not(:first-child){border-top:1px solid var(--line)}
.filter{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:0 0 14px;font-size:13px}
.filter a,.filter b{padding:2px 10px;border-radius:999px;border:1px solid var(--line);background:var(--card)}
.filter b{background:var(--accent);color:#fff;border-color:var(--accent);font-weight:600}
pre.script{margin:0;padding:12px 16px;overflow:auto;max-height:40vh;background:var(--bg);font:12.5px/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
tr.gone td{color:var(--muted)}
`;

/** The page shell: head with inline CSS (allowed by the nonce), header, main. */
export function layout(opts: { title: string; nonce: string; body: string; refreshS?: number; script?: string; css?: string }): string {
  const refresh = opts.refreshS ? `<meta http-equiv="refresh" content="${opts.refreshS}">` : '';
  const script = opts.script ? `<script nonce="${opts.nonce}">${opts.script}</script>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${refresh}
<title>${esc(opts.title)}</title><style nonce="${opts.nonce}">${CSS}${opts.css ?? ''}</style></head>
<body><header><h1><a href="/">builder</a></h1><span class="muted">builder-server ${esc(VERSION)} · read-only status</span></header>
<main>${opts.body}</main>${script}</body></html>
`;
}
