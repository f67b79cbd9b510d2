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
pre.console{margin:0;background:var(--code);color:var(--codefg);padding:12px 16px;overflow:auto;max-height:70vh;
font:12.5px/1.5 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all}
pre.console .t{color:#7d8799;user-select:none}
.note{padding:8px 16px;color:var(--muted);font-size:13px;border-top:1px solid var(--line)}
ul.files{margin:0;padding:10px 16px 10px 34px}
`;

/** The page shell: head with inline CSS (allowed by the nonce), header, main. */
export function layout(opts: { title: string; nonce: string; body: string; refreshS?: number; script?: string }): string {
  const refresh = opts.refreshS ? `<meta http-equiv="refresh" content="${opts.refreshS}">` : '';
  const script = opts.script ? `<script nonce="${opts.nonce}">${opts.script}</script>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${refresh}
<title>${esc(opts.title)}</title><style nonce="${opts.nonce}">${CSS}</style></head>
<body><header><h1><a href="/">builder</a></h1><span class="muted">builder-server ${esc(VERSION)} · read-only status</span></header>
<main>${opts.body}</main>${script}</body></html>
`;
}
