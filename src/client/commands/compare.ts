import { promises as fs } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import type { RunArtifacts } from '../../protocol/messages.js';
import { describeOutcome } from '../../protocol/types.js';
import { usageError } from '../../shared/cli.js';
import { BuilderError } from '../../shared/errors.js';
import { compareArtifacts, whyDifferent, type PathComparison } from '../../verify/compare-artifacts.js';
import type { Command } from '../command.js';
import { paint, printJson } from '../output.js';
import { open, reply, request, type ClientRemote } from '../request.js';
import { runIdArg } from '../run-id.js';
import { unifiedDiff } from '../unified-diff.js';
import { groupText, humanSize } from './results.js';

// `compare RUN_A RUN_B`: the two runs' artifacts path by path (size and
// sha256 on both sides: same, different, missing), a short unified diff of
// each differing text file (fetched, up to TEXT_MAX bytes a side), and the
// diffoscope command for a closer look when diffoscope is installed.

/** Largest file fetched for a diff excerpt. */
const TEXT_MAX = 256 << 10;
/** Diff lines shown per file. */
const EXCERPT_LINES = 40;

/** The named artifacts of a run, in memory (small files only). */
async function fetchSmall(remote: ClientRemote, runId: string, paths: string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (paths.length === 0) return out;
  const conn = await open(remote, { type: 'fetch', run_id: runId, paths });
  try {
    const head = await reply(conn);
    if (head.type !== 'fetch_reply') throw new BuilderError('bad_reply', `unexpected reply "${head.type}" to fetch`);
    for (;;) {
      const m = await reply(conn);
      if (m.type === 'success') break;
      if (m.type !== 'artifact') throw new BuilderError('bad_reply', `unexpected "${m.type}" while fetching`);
      const chunks: Buffer[] = [];
      await conn.readRaw(m.size, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
      out.set(m.path, Buffer.concat(chunks));
    }
  } finally {
    conn.destroy();
  }
  return out;
}

/** The text of a file, or null when it is not UTF-8 text (NUL bytes, invalid sequences). */
function asText(b: Buffer | undefined): string | null {
  if (!b || b.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** Where diffoscope is on $PATH, or null. */
async function findDiffoscope(): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'diffoscope');
    if (await fs.access(p, fs.constants.X_OK).then(() => true, () => false)) return p;
  }
  return null;
}

function who(r: RunArtifacts): string {
  return `${r.name} on ${r.platform}, ${r.worker ? `host ${r.worker.hostname}, worker ${r.worker.id}` : 'worker unknown'}, ${describeOutcome(r.outcome)}`;
}

function side(c: PathComparison, i: number): { size: number; sha256: string | null } | null {
  return c.sizes[i] === null ? null : { size: c.sizes[i]!, sha256: c.sha256[i] ?? null };
}

const MARK: Record<PathComparison['status'], (s: string) => string> = {
  same: (s) => paint.green(s),
  different: (s) => paint.red(s),
  missing: (s) => paint.red(s),
  unknown: (s) => paint.yellow(s),
};

export const compare: Command = {
  name: 'compare',
  summary: 'compare the artifacts of two finished runs (paths, sizes, sha256)',
  usage: `compare RUN_A RUN_B
  Per artifact path: size and sha256 in both runs, marked same, different or missing
  (unknown: a run stored before hashes were recorded). For differing text files up to
  256 KiB a short unified diff follows; where diffoscope is installed, the command to
  look inside the fetched files. The console is not compared. --json: one document.`,
  flags: [],
  async run({ remote, json, args }) {
    const [x, y, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    if (y === undefined) usageError('compare needs two run ids: RUN_A RUN_B (see: builder-client results)');
    const ids = [runIdArg(x), runIdArg(y)] as const;
    const r = await request(remote, { type: 'compare', run_ids: [ids[0], ids[1]] });
    if (r.type !== 'compare_reply') throw new BuilderError('bad_reply', `unexpected reply "${r.type}" to compare`);
    const [a, b] = r.runs;
    const paths = compareArtifacts([a.artifacts, b.artifacts]);
    const small = paths.filter((c) => c.status === 'different' && c.sizes.every((s) => s !== null && s <= TEXT_MAX)).map((c) => c.path);
    const [filesA, filesB] = await Promise.all([fetchSmall(remote, a.run_id, small), fetchSmall(remote, b.run_id, small)]);
    const diffs = new Map<string, string[]>();
    for (const p of small) {
      const ta = asText(filesA.get(p));
      const tb = asText(filesB.get(p));
      if (ta === null || tb === null) continue;
      const d = unifiedDiff(ta, tb, `a/${p} (${a.run_id})`, `b/${p} (${b.run_id})`);
      diffs.set(p, d === null ? ['(the files differ in too many lines for an excerpt)'] : d.length > EXCERPT_LINES ? [...d.slice(0, EXCERPT_LINES), `... ${d.length - EXCERPT_LINES} more diff lines`] : d);
    }
    const differing = paths.filter((c) => c.status !== 'same');
    const diffoscope = differing.some((c) => c.status === 'different') ? await findDiffoscope() : null;
    const first = differing.find((c) => c.status === 'different')?.path;
    const hint = diffoscope && first
      ? `builder-client fetch ${a.run_id} a && builder-client fetch ${b.run_id} b && diffoscope a/${first} b/${first}`
      : null;
    if (json) {
      return printJson({
        runs: [a, b].map(({ artifacts: _drop, ...run }) => run),
        same: differing.length === 0,
        paths: paths.map((c) => ({ path: c.path, status: c.status, a: side(c, 0), b: side(c, 1), ...(diffs.has(c.path) ? { diff: diffs.get(c.path) } : {}) })),
        diffoscope: hint,
      });
    }
    const out: string[] = [`a: ${a.run_id}  ${who(a)}${a.group ? `  ${groupText(a.group)}` : ''}`, `b: ${b.run_id}  ${who(b)}${b.group ? `  ${groupText(b.group)}` : ''}`];
    for (const c of paths) {
      const sizes = c.sizes.map((s) => (s === null ? '-' : humanSize(s))).join(' / ');
      const hashes = c.status === 'same' ? c.sha256[0]! : c.sha256.map((h, i) => (c.sizes[i] === null ? '-' : h ?? '(no sha256)')).join(' / ');
      out.push(`  ${MARK[c.status](c.status.padEnd(9))}  ${c.path}  ${sizes}  ${hashes}${c.status === 'same' ? '' : `  (${whyDifferent(c)})`}`);
    }
    const count = (s: PathComparison['status']) => paths.filter((c) => c.status === s).length;
    out.push(
      paths.length === 0
        ? 'neither run has artifacts'
        : `${count('same')} same, ${count('different')} different, ${count('missing')} missing${count('unknown') ? `, ${count('unknown')} without a recorded sha256` : ''} (artifacts only; the console is not compared)`,
    );
    for (const [p, d] of diffs) out.push('', `${p}:`, ...d);
    if (hint) out.push('', `diffoscope is installed (${diffoscope}); to look inside the files:`, `  ${hint}`);
    process.stdout.write(out.join('\n') + '\n');
  },
};
