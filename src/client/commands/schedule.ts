import { readFileSync } from 'node:fs';
import { checkName } from '../../protocol/decode.js';
import type { ScheduleSpec } from '../../protocol/messages.js';
import { DEFAULT_PERIOD, MAX_VERIFY, PERIODS, type Period } from '../../protocol/types.js';
import { checkCron } from '../../schedule/next-run.js';
import { intFlag, usageError } from '../../shared/cli.js';
import { BuilderError, reason } from '../../shared/errors.js';
import type { ClientContext, Command } from '../command.js';
import { printReply } from '../output.js';
import { open, reply, request } from '../request.js';
import { checkScriptSize, readScheduleFile } from '../schedule-file.js';
import type { ClientRemote } from '../request.js';

/** Checks a name argument, turning a bad one into a usage error. */
export function nameArg(what: string, v: string | undefined): string {
  if (v === undefined) usageError(`missing ${what.toUpperCase()} (see --help)`);
  try {
    return checkName(what, v);
  } catch (e) {
    return usageError(reason(e));
  }
}

/**
 * Reads `--verify N` (absent: undefined). N is required: mri cannot tell a
 * bare `--verify` followed by an argument from `--verify VALUE`.
 */
export function verifyArg(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (v === true || v === '') usageError(`--verify needs N, how many times to build each run (2 to ${MAX_VERIFY}), e.g. --verify 2`);
  return intFlag('--verify', v, 2, MAX_VERIFY);
}

export const schedule: Command = {
  name: 'schedule',
  summary: 'add a job to the schedule',
  usage: `schedule NAME PLATFORM SCRIPT [--period hourly|daily|weekly|never | --cron EXPR [--tz ZONE]] [--timeout SECONDS] [--allow-overlap] [--replace] [--verify N]
       schedule --from FILE|DIR [--platform P] [--period P] [--replace] [--verify N]
  --period P   how often it runs (default ${DEFAULT_PERIOD}, as in the original); a period other than
               never queues the first run at once; never runs only on execute
  --from FILE  NDJSON, one job a line: {"name","platform","script" or "script_file","period","cron","tz","timeout_s","verify"};
               a relative script_file is next to FILE
  --from DIR   every script in DIR (a #! first line or a .sh name; dotfiles and README-like
               files are skipped) is a job named after it (without .sh); needs --platform
  --replace    a job already scheduled is updated (left as it is if nothing changed), so a set
               of jobs kept in git can be applied again; without it, an existing job is refused
  --verify N   build each due run N times (2 to ${MAX_VERIFY}) on different workers and compare
               the artifacts' paths and sha256 (a verify group: reproducible, differs or incomplete)
  All or nothing: if any job is bad (or already scheduled, without --replace), none is scheduled.
  SCRIPT is a file; its #! line decides the interpreter (/bin/sh without one).`,
  flags: ['period', 'cron', 'tz', 'timeout', 'allow-overlap', 'from', 'platform', 'replace', 'verify'],
  booleans: ['allow-overlap', 'replace'],
  async run({ remote, json, args }) {
    if (args.from !== undefined) return scheduleMany(remote, json, args);
    const [n, p, file, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    const name = nameArg('job', n);
    const platform = nameArg('platform', p);
    if (file === undefined) usageError('missing SCRIPT (a file with the job script)');
    let script: string;
    try {
      script = readFileSync(file, 'utf8');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'it is a directory (schedule --from DIR --platform P takes a directory of scripts)' : reason(e);
      throw new BuilderError('bad_script', `cannot read script ${file}: ${why}`);
    }
    checkScriptSize(script, file);
    const period = String(args.period ?? (args.cron === undefined ? DEFAULT_PERIOD : 'never'));
    if (!(PERIODS as readonly string[]).includes(period)) usageError(`bad --period "${period}": use ${PERIODS.join(', ')}`);
    const spec: ScheduleSpec = { name, platform, script, period: period as Period };
    if (args.cron !== undefined) {
      if (args.period !== undefined) usageError('--period and --cron exclude each other');
      spec.cron = String(args.cron);
      spec.tz = String(args.tz ?? 'UTC');
      try {
        checkCron(spec.cron, spec.tz);
      } catch (e) {
        usageError(reason(e));
      }
    } else if (args.tz !== undefined) usageError('--tz only applies with --cron');
    if (args.timeout !== undefined) spec.timeout_s = intFlag('--timeout', args.timeout, 1, 7 * 24 * 3600);
    if (args['allow-overlap']) spec.allow_overlap = true;
    const verify = verifyArg(args.verify);
    if (verify !== undefined) spec.verify = verify;
    const r = await request(remote, { type: 'schedule', job: spec, ...(args.replace ? { replace: true } : {}) });
    printReply(json, r, `scheduled ${name}`);
  },
};

/** How much longer the client waits for a `schedule --from` reply, per job in the batch. */
const BATCH_MS_PER_JOB = 1000;

async function scheduleMany(remote: ClientRemote, json: boolean, args: ClientContext['args']): Promise<void> {
  if (args._.length > 0) usageError('schedule --from takes no NAME PLATFORM SCRIPT arguments');
  const defaults: Partial<ScheduleSpec> = {};
  if (args.platform !== undefined) defaults.platform = nameArg('platform', String(args.platform));
  if (args.period !== undefined) {
    if (!(PERIODS as readonly string[]).includes(String(args.period))) usageError(`bad --period "${String(args.period)}": use ${PERIODS.join(', ')}`);
    defaults.period = String(args.period) as Period;
  }
  const verify = verifyArg(args.verify);
  if (verify !== undefined) defaults.verify = verify;
  const specs = await readScheduleFile(String(args.from), defaults);
  // The server writes (and fsyncs) each job before it answers: a big batch may keep it quiet for long.
  const conn = await open(remote, { type: 'schedule_batch', count: specs.length, ...(args.replace ? { replace: true } : {}) }, { workMs: specs.length * BATCH_MS_PER_JOB });
  try {
    for (const job of specs) await conn.send({ type: 'schedule', job });
    const r = await reply(conn);
    printReply(json, r, `scheduled ${specs.length} job${specs.length === 1 ? '' : 's'}`);
  } finally {
    conn.destroy();
  }
}
