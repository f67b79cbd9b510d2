import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import mri from 'mri';
import { templateFile, templatePlatform } from '../schedule/template.js';
import { checkFlags, usageError } from '../shared/cli.js';
import { BuilderError, reason } from '../shared/errors.js';
import { defaultConfigDir, defaultSpoolDir } from '../shared/host.js';
import { readSpoolContents } from '../spool/spool-contents.js';
import { Spool } from '../spool/spool.js';
import { queueFileName } from '../server/core/queue.js';
import { planImport, type ImportPlan } from './import-state.js';
import type { StateItem } from './cmd.js';
import { decodeState } from './state-codec.js';

const HELP = `usage: builder-server import-state FILE [--dir SPOOL] [--config-dir DIR] [--merge] [--dry-run] [--json]

Reads the original builder server's state file (its <dir>/state: schedule,
queues, dropped platforms) and writes the same jobs as records of this
server's spool. Stop both servers first.

options:
  --dir DIR          the spool to write (default ${defaultSpoolDir()})
  --config-dir DIR   where orb-build.template.<platform> files are, for queued orb builds (default ${defaultConfigDir()})
  --merge            add to a spool that already has jobs (what it has is kept; the same names are skipped)
  --dry-run          write nothing; print what would be written
  --json             print one JSON document

exit codes: 0 ok, 123 failure (unreadable file, non-empty spool, failed write), 124 bad usage`;

/** `builder-server import-state`: reads the state file, plans the records, checks the spool, writes (or shows) them. */
export async function runImportState(argv: string[]): Promise<void> {
  const args = mri(argv, { string: ['dir', 'config-dir'], boolean: ['merge', 'dry-run', 'json', 'help'] });
  checkFlags('builder-server import-state', args, ['dir', 'config-dir', 'merge', 'dry-run', 'json', 'help']);
  if (args.help) return void console.log(HELP);
  if (args._.length !== 1) usageError(`import-state takes one state file, e.g. builder-server import-state /var/lib/builder/state (see --help)`);
  const file = String(args._[0]);
  const dir = args.dir || defaultSpoolDir();
  const dryRun = args['dry-run'] === true;

  const items = await readStateFile(file);
  const contents = await readSpoolContents(dir);
  const jobs = contents.schedule.length + contents.queued.length + contents.running;
  if (jobs > 0 && !args.merge) {
    throw new BuilderError(
      'spool_not_empty',
      `the spool ${dir} already has jobs (${contents.schedule.length} scheduled, ${contents.queued.length} queued, ${contents.running} running): importing would mix two schedules; use an empty --dir, or --merge to add the state's jobs (what the spool has is kept)`,
    );
  }
  const templates = await readTemplates(args['config-dir'] || defaultConfigDir());
  const plan = planImport(items, {
    now: new Date(),
    template: (p) => templates.get(p) ?? null,
    existing: {
      schedule: new Set(contents.schedule),
      queued: new Set(contents.queued.map((q) => `${q.platform}/${q.name}`)),
      platforms: new Map(contents.platforms.map((p) => [p.platform, p])),
    },
  });
  const queueFiles = dryRun ? plan.queued.map(() => null) : await writePlan(dir, plan);
  report(plan, queueFiles, { file, dir, dryRun, json: args.json === true, items: items.length });
}

async function readStateFile(file: string): Promise<StateItem[]> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    throw new BuilderError('not_found', `cannot read the state file ${file}: ${reason(e)} (the original server keeps it as <its --dir>/state, e.g. /var/lib/builder/state)`);
  }
  try {
    return decodeState(buf);
  } catch (e) {
    throw new BuilderError('bad_state', `${file} is not an original builder state file: ${reason(e)}`);
  }
}

/** Every orb-build template of the config dir, by platform (none when the dir is missing). */
async function readTemplates(configDir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const files = await fs.readdir(configDir).catch(() => [] as string[]);
  for (const f of files) {
    const p = templatePlatform('orb-build', f);
    if (p !== null) out.set(p, await fs.readFile(join(configDir, templateFile('orb-build', p)), 'utf8'));
  }
  return out;
}

/**
 * Writes the records through the spool (each one atomic); returns the queue
 * file names in plan order. A failed write stops the import with a line
 * saying how far it got: a rerun with --merge skips what is already there.
 */
async function writePlan(dir: string, plan: ImportPlan): Promise<string[]> {
  const spool = await Spool.open(dir);
  let written = 0;
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      const v = await fn();
      written++;
      return v;
    } catch (e) {
      throw new BuilderError('spool_write', `cannot write ${what} in ${dir}: ${reason(e)}; ${written} records were written before it (fix the cause, then run again with --merge)`);
    }
  };
  for (const e of plan.schedule) await step(`schedule/${e.name}.json`, () => spool.putSchedule(e));
  const files: string[] = [];
  // Behind whatever is queued already (--merge), in the state file's order: order keys are microseconds from now on.
  const base = Date.now() * 1000;
  for (const [i, q] of plan.queued.entries()) {
    const file = queueFileName(base + i, q.job.name);
    await step(`queue/${q.job.platform}/${file}`, () => spool.putQueued(file, q));
    files.push(file);
  }
  for (const p of plan.platforms) await step(`platforms/${p.platform}.json`, () => spool.putPlatform(p));
  return files;
}

function report(plan: ImportPlan, queueFiles: (string | null)[], o: { file: string; dir: string; dryRun: boolean; json: boolean; items: number }): void {
  const queuePath = (i: number) => {
    const q = plan.queued[i]!;
    return queueFiles[i] ? `queue/${q.job.platform}/${queueFiles[i]}` : `queue/${q.job.platform}/`;
  };
  if (o.json) {
    console.log(JSON.stringify({
      file: o.file,
      spool: o.dir,
      dry_run: o.dryRun,
      items: o.items,
      schedule: plan.schedule.map((e) => ({ path: `schedule/${e.name}.json`, record: e })),
      queued: plan.queued.map((q, i) => ({ path: queuePath(i), record: q })),
      platforms: plan.platforms.map((p) => ({ path: `platforms/${p.platform}.json`, record: p })),
      skipped: plan.skipped,
    }, null, 2));
    return;
  }
  const verb = o.dryRun ? 'would write' : 'wrote';
  const lines = [`${o.file}: ${o.items} state items`];
  for (const e of plan.schedule) {
    const what = e.template ? `orb build of ${e.template.opam_package} on every platform with its template` : `on ${e.platform}`;
    lines.push(`${verb} schedule/${e.name}.json: ${e.name} ${what}, ${e.period}${e.next ? `, next ${e.next}` : ''}`);
  }
  const position = new Map<string, number>();
  plan.queued.forEach((q, i) => {
    const n = (position.get(q.job.platform) ?? 0) + 1;
    position.set(q.job.platform, n);
    lines.push(`${verb} ${queuePath(i)}${queueFiles[i] ? '' : ` (number ${n} in that queue)`}: ${q.job.name}`);
  });
  for (const p of plan.platforms) lines.push(`${verb} platforms/${p.platform}.json: dropped`);
  for (const s of plan.skipped) lines.push(`skipped ${s.item}: ${s.reason}`);
  const counts = `${plan.schedule.length} schedule entries, ${plan.queued.length} queued jobs, ${plan.platforms.length} dropped platforms`;
  lines.push(o.dryRun ? `dry run: would import ${counts} into ${o.dir}; nothing was written` : `imported ${counts} into ${o.dir}${plan.skipped.length ? `; ${plan.skipped.length} skipped (above)` : ''}`);
  console.log(lines.join('\n'));
}
