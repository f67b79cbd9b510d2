import { esc } from './html.js';

// Console lines carry the colours build tools print (SGR escapes, `ESC [ ... m`).
// They become <span class="..."> with a fixed set of class names, so nothing
// from the line reaches an attribute; every other escape sequence and control
// character is dropped, and all text is HTML-escaped.

/** The SGR state that decides a span's classes. */
interface Sgr {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Sgr = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

// CSI sequences (ESC [ params intermediates final), OSC (ESC ] ... BEL or ST), other two-byte escapes.
const ESCAPES = /\x1b\[([0-9;:?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

function apply(s: Sgr, params: string): Sgr {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let n: Sgr = { ...s };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c === 0) n = { ...PLAIN };
    else if (c === 1) n.bold = true;
    else if (c === 2) n.dim = true;
    else if (c === 3) n.italic = true;
    else if (c === 4) n.underline = true;
    else if (c === 22) n.bold = n.dim = false;
    else if (c === 23) n.italic = false;
    else if (c === 24) n.underline = false;
    else if (c >= 30 && c <= 37) n.fg = String(c - 30);
    else if (c >= 90 && c <= 97) n.fg = String(c - 90 + 8);
    else if (c === 39) n.fg = null;
    else if (c >= 40 && c <= 47) n.bg = String(c - 40);
    else if (c >= 100 && c <= 107) n.bg = String(c - 100 + 8);
    else if (c === 49) n.bg = null;
    else if (c === 38 || c === 48) {
      // 38;5;N (256 colours: the first 16 map to our palette) or 38;2;R;G;B (shown uncoloured).
      const mode = codes[i + 1];
      const v = mode === 5 ? codes[i + 2] : undefined;
      const colour = v !== undefined && v >= 0 && v < 16 ? String(v) : null;
      if (c === 38) n.fg = colour;
      else n.bg = colour;
      i += mode === 5 ? 2 : mode === 2 ? 4 : 0;
    }
  }
  return n;
}

function classes(s: Sgr): string {
  const out: string[] = [];
  if (s.fg !== null) out.push(`f${s.fg}`);
  if (s.bg !== null) out.push(`b${s.bg}`);
  if (s.bold) out.push('sb');
  if (s.dim) out.push('sd');
  if (s.italic) out.push('si');
  if (s.underline) out.push('su');
  return out.join(' ');
}

/** One console line as safe HTML: SGR colours as spans (classes f0-f15, b0-b15, sb sd si su), other escapes removed. */
export function ansiToHtml(line: string): string {
  if (!line.includes('\x1b')) return esc(line.replace(CONTROLS, ''));
  let out = '';
  let state = PLAIN;
  let at = 0;
  const text = (t: string) => {
    if (t === '') return;
    const cls = classes(state);
    const safe = esc(t.replace(CONTROLS, ''));
    out += cls ? `<span class="${cls}">${safe}</span>` : safe;
  };
  for (const m of line.matchAll(ESCAPES)) {
    text(line.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[2] === 'm') state = apply(state, m[1] ?? '');
  }
  text(line.slice(at));
  return out;
}

/** The console palette (xterm's 16 colours, readable on the dark console background). */
export const ANSI_CSS = [
  '#4d5566', '#ff6b6b', '#5fd068', '#e5c07b', '#61afef', '#c678dd', '#56b6c2', '#d7dde8',
  '#7d8799', '#ff8f8f', '#8be28b', '#f2d58c', '#8cc4ff', '#de9cf0', '#7fd3dc', '#ffffff',
]
  .map((c, i) => `pre.console .f${i}{color:${c}}pre.console .b${i}{background:${c};color:#0f1420}`)
  .join('') + 'pre.console .sb{font-weight:700}pre.console .sd{opacity:.7}pre.console .si{font-style:italic}pre.console .su{text-decoration:underline}';
