import type { GroupSummary } from '../../protocol/messages.js';
import { describeOutcome } from '../../protocol/types.js';
import { intFlag, usageError } from '../../shared/cli.js';
import { BuilderError } from '../../shared/errors.js';
import type { Command } from '../command.js';
import { paint, plural, printJson, table } from '../output.js';
import { request } from '../request.js';
import { nameArg } from './schedule.js';

/** Bytes for people: 1.5 MiB. */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Artifact lines shown per run; the rest is counted (fetch or inspect show all). */
const FILES_SHOWN = 20;

/** `verify 1/2 reproducible`, `verify 2/2 differs: a, b` for a run of a verify group. */
export function groupText(g: GroupSummary): string {
  const text = `verify ${g.index}/${g.of} ${g.outcome}${g.differs?.length ? `: ${g.differs.join(', ')}` : ''}`;
  return g.outcome === 'reproducible' ? paint.green(text) : g.outcome === 'pending' ? text : paint.red(text);
}

/** One artifact line: sha256 (or that none was recorded), size, path. */
export function artifactLine(a: { path: string; size: number; sha256?: string }): string {
  return `  ${a.sha256 ?? '(no sha256 recorded)'.padEnd(64)}  ${String(a.size).padStart(12)}  ${a.path}`;
}

export const results: Command = {
  name: 'results',
  summary: 'list finished runs, newest first',
  usage:
    'results [NAME] [--limit N]\n  Shows time, job, platform, outcome, duration, artifact size and verify group (default: the newest 50),\n  then each artifact with its sha256 (at most 20 per run).',
  flags: ['limit'],
  async run({ remote, json, args }) {
    if (args._.length > 1) usageError(`unexpected argument "${args._[1]}"`);
    const name = args._[0] === undefined ? undefined : nameArg('job', args._[0]);
    const limit = args.limit === undefined ? undefined : intFlag('--limit', args.limit, 1, 100_000);
    const r = await request(remote, { type: 'results', ...(name ? { name } : {}), ...(limit ? { limit } : {}) });
    if (r.type !== 'results_reply') throw new BuilderError('bad_reply', `unexpected reply "${r.type}" to results`);
    if (json) return printJson(r.results);
    if (r.results.length === 0) return void console.log(name ? `no finished runs of ${name}` : 'no finished runs');
    const rows = r.results.map((x) => {
      const ok = x.outcome.kind === 'exited' && x.outcome.code === 0;
      const outcome = ok ? paint.green(describeOutcome(x.outcome)) : paint.red(describeOutcome(x.outcome));
      return [x.finished, x.run_id, x.name, x.platform, outcome, `${x.duration_s.toFixed(1)} s`, `${plural(x.artifacts, 'file')} ${humanSize(x.size)}`, x.group ? groupText(x.group) : ''];
    });
    const lines = table(rows, '');
    r.results.forEach((x, i) => {
      console.log(lines[i]);
      const files = x.files ?? [];
      for (const a of files.slice(0, FILES_SHOWN)) console.log(artifactLine(a));
      if (files.length > FILES_SHOWN) console.log(`  ... and ${files.length - FILES_SHOWN} more (builder-client fetch ${x.run_id} DIR)`);
    });
  },
};
