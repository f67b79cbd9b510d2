// Pure: a unified diff of two texts (as `diff -u` writes it), for the short
// excerpt `compare` shows of a differing text artifact. Common leading and
// trailing lines are cut first; the rest is diffed by longest common
// subsequence, so the middle is bounded (MAX_MIDDLE lines a side).

const CONTEXT = 3;
/** Lines a side left after cutting the common ends, beyond which no diff is made. */
export const MAX_MIDDLE = 2000;

type Op = { kind: ' ' | '-' | '+'; line: string };

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The edit script turning `a` into `b`, or null when the differing middle is too long. */
function editScript(a: string[], b: string[]): Op[] | null {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const x = a.slice(pre, a.length - suf);
  const y = b.slice(pre, b.length - suf);
  if (x.length > MAX_MIDDLE || y.length > MAX_MIDDLE) return null;
  // lcs[i][j]: longest common subsequence of x[i..] and y[j..], one flat row-major array.
  const w = y.length + 1;
  const lcs = new Uint16Array((x.length + 1) * w);
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--) lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
  const ops: Op[] = a.slice(0, pre).map((line) => ({ kind: ' ', line }));
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) ops.push({ kind: ' ', line: x[i++]! }), j++;
    // On a tie the deletion comes first, as diff -u writes it.
    else if (i < x.length && (j === y.length || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) ops.push({ kind: '-', line: x[i++]! });
    else ops.push({ kind: '+', line: y[j++]! });
  }
  for (const line of a.slice(a.length - suf)) ops.push({ kind: ' ', line });
  return ops;
}

/**
 * The unified diff of `a` and `b` (headers `--- nameA`, `+++ nameB`, hunks
 * with 3 lines of context), as lines; [] when equal; null when the texts
 * differ in too many lines to diff.
 */
export function unifiedDiff(a: string, b: string, nameA: string, nameB: string): string[] | null {
  const ops = editScript(splitLines(a), splitLines(b));
  if (ops === null) return null;
  const changed = ops.flatMap((o, k) => (o.kind === ' ' ? [] : [k]));
  if (changed.length === 0) return [];
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  // Line numbers before each op, on each side.
  const lineA: number[] = [];
  const lineB: number[] = [];
  let na = 1;
  let nb = 1;
  for (const o of ops) {
    lineA.push(na);
    lineB.push(nb);
    if (o.kind !== '+') na++;
    if (o.kind !== '-') nb++;
  }
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k]! - CONTEXT);
    let end = changed[k]!;
    while (k < changed.length && changed[k]! - end <= 2 * CONTEXT) end = changed[k++]!;
    const stop = Math.min(ops.length, end + CONTEXT + 1);
    const hunk = ops.slice(start, stop);
    const countA = hunk.filter((o) => o.kind !== '+').length;
    const countB = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${countA ? lineA[start] : lineA[start]! - 1},${countA} +${countB ? lineB[start] : lineB[start]! - 1},${countB} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
  }
  return out;
}
