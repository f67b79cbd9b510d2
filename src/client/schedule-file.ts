import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { DEFAULT_MAX_LINE } from '../protocol/connection.js';
import { decodeScheduleSpec } from '../protocol/decode.js';
import type { ScheduleSpec } from '../protocol/messages.js';
import { checkCron } from '../schedule/next-run.js';
import { BuilderError, reason } from '../shared/errors.js';

/** Files a script directory may hold besides scripts: documentation, skipped by name. */
const NOT_SCRIPTS = /^(readme|license|licence|copying|changes|changelog|notes|authors)(\..*)?$/i;

/** Room for the rest of a `schedule` line (name, platform, period, ...) besides the script. */
const LINE_ROOM = 1024;

/** Refuses a script whose `schedule` line would pass the server's line limit, naming the script and the limit. */
export function checkScriptSize(script: unknown, file: string): void {
  if (typeof script !== 'string') return;
  const bytes = Buffer.byteLength(JSON.stringify(script)) + LINE_ROOM;
  if (bytes < DEFAULT_MAX_LINE) return;
  const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;
  throw new BuilderError('script_too_big', `script ${file} is too big: ${mib(bytes)} as sent, a job's schedule line may be at most ${mib(DEFAULT_MAX_LINE)} (the server's --max-line); let the job fetch large inputs instead`);
}

/**
 * Reads the jobs of `schedule --from`: an NDJSON file (one job spec per
 * line: name, platform, script or script_file (relative to the file's
 * directory, or absolute), period, cron, tz, timeout_s, allow_overlap) or a
 * directory of scripts named after their jobs (`NAME` or `NAME.sh`), all for
 * `defaults.platform` and `defaults.period`. In a directory, only scripts
 * count (a `#!` first line, or a `.sh` name); dotfiles (.gitkeep) and
 * README-like files are skipped. Any bad line or script fails the whole
 * batch, naming the line or the script.
 */
export async function readScheduleFile(path: string, defaults: Partial<ScheduleSpec>): Promise<ScheduleSpec[]> {
  let st;
  try {
    st = await fs.stat(path);
  } catch (e) {
    throw new BuilderError('bad_from', `cannot read ${path}: ${reason(e)}`);
  }
  return st.isDirectory() ? readDir(path, defaults) : readNdjson(path, defaults);
}

async function readNdjson(path: string, defaults: Partial<ScheduleSpec>): Promise<ScheduleSpec[]> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new BuilderError('bad_from', `cannot read ${path}: ${reason(e)}`);
  }
  const specs: ScheduleSpec[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${path}:${i + 1}`;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new BuilderError('bad_from', `${where}: not JSON: ${(e as Error).message}; nothing was scheduled`);
    }
    let file = where;
    if (typeof o.script_file === 'string' && o.script === undefined) {
      // An absolute script_file is used as it is; a relative one is next to the NDJSON file.
      file = isAbsolute(o.script_file) ? o.script_file : join(dirname(path), o.script_file);
      try {
        o.script = await fs.readFile(file, 'utf8');
      } catch (e) {
        throw new BuilderError('bad_from', `${where}: cannot read script ${file}: ${reason(e)}; nothing was scheduled`);
      }
    }
    delete o.script_file;
    checkScriptSize(o.script, file);
    try {
      const spec = decodeScheduleSpec({ type: 'job', ...defaults, ...o });
      if (spec.cron) checkCron(spec.cron, spec.tz);
      specs.push(spec);
    } catch (e) {
      throw new BuilderError('bad_from', `${where}: ${reason(e)}; nothing was scheduled`);
    }
  }
  if (specs.length === 0) throw new BuilderError('bad_from', `${path} holds no jobs`);
  return specs;
}

async function readDir(dir: string, defaults: Partial<ScheduleSpec>): Promise<ScheduleSpec[]> {
  if (!defaults.platform) throw new BuilderError('usage', `schedule --from ${dir} (a directory) needs --platform`);
  const specs: ScheduleSpec[] = [];
  const files = (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isFile() && !d.name.startsWith('.') && !NOT_SCRIPTS.test(d.name));
  for (const f of files.map((d) => d.name).sort()) {
    const file = join(dir, f);
    let script: string;
    try {
      script = await fs.readFile(file, 'utf8');
    } catch (e) {
      throw new BuilderError('bad_from', `cannot read script ${file}: ${reason(e)}; nothing was scheduled`);
    }
    if (!f.endsWith('.sh') && !script.startsWith('#!')) continue;
    checkScriptSize(script, file);
    try {
      specs.push(decodeScheduleSpec({ type: 'job', ...defaults, name: basename(f, '.sh'), script }));
    } catch (e) {
      throw new BuilderError('bad_from', `script ${file}: ${reason(e)}; nothing was scheduled`);
    }
  }
  if (specs.length === 0) throw new BuilderError('bad_from', `${dir} holds no scripts (files with a #! line or named *.sh)`);
  return specs;
}
