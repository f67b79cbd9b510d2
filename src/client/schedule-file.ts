import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { decodeScheduleSpec } from '../protocol/decode.js';
import type { ScheduleSpec } from '../protocol/messages.js';
import { checkCron } from '../schedule/next-run.js';
import { BuilderError, reason } from '../shared/errors.js';

/**
 * Reads the jobs of `schedule --from`: an NDJSON file (one job spec per
 * line: name, platform, script or script_file, period, cron, tz, timeout_s,
 * allow_overlap) or a directory of scripts named after their jobs
 * (`NAME` or `NAME.sh`), all for `defaults.platform` and `defaults.period`.
 * Any bad line fails the whole batch, naming the line.
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
  const text = await fs.readFile(path, 'utf8');
  const specs: ScheduleSpec[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.script_file === 'string' && o.script === undefined) o.script = await fs.readFile(join(path, '..', o.script_file), 'utf8');
      const spec = decodeScheduleSpec({ type: 'job', ...defaults, ...o });
      if (spec.cron) checkCron(spec.cron, spec.tz);
      specs.push(spec);
    } catch (e) {
      throw new BuilderError('bad_from', `${path}:${i + 1}: ${e instanceof SyntaxError ? `not JSON: ${e.message}` : reason(e)}; nothing was scheduled`);
    }
  }
  if (specs.length === 0) throw new BuilderError('bad_from', `${path} holds no jobs`);
  return specs;
}

async function readDir(dir: string, defaults: Partial<ScheduleSpec>): Promise<ScheduleSpec[]> {
  if (!defaults.platform) throw new BuilderError('usage', `schedule --from ${dir} (a directory) needs --platform`);
  const specs: ScheduleSpec[] = [];
  for (const f of (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort()) {
    const name = basename(f, '.sh');
    try {
      specs.push(decodeScheduleSpec({ type: 'job', ...defaults, name, script: await fs.readFile(join(dir, f), 'utf8') }));
    } catch (e) {
      throw new BuilderError('bad_from', `${join(dir, f)}: ${reason(e)}; nothing was scheduled`);
    }
  }
  if (specs.length === 0) throw new BuilderError('bad_from', `${dir} holds no scripts`);
  return specs;
}
