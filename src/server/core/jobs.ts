import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { checkName } from '../../protocol/decode.js';
import type { Job } from '../../protocol/types.js';
import { expandTemplate, templateFile, templatePlatform } from '../../schedule/template.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { ALL_PLATFORMS, type ScheduleEntry } from '../../spool/records.js';
import type { ServerState } from './state.js';

/** Platforms whose template `name` exists in the config dir. */
export async function templatePlatforms(state: ServerState, name: string): Promise<string[]> {
  let files: string[];
  try {
    files = await fs.readdir(state.config.configDir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const f of files.sort()) {
    const p = templatePlatform(name, f);
    if (p === null) continue;
    try {
      out.push(checkName('platform', p));
    } catch {
      log('warn', `template ${join(state.config.configDir, f)}: "${p}" is not a valid platform name; ignored`);
    }
  }
  return out;
}

function problem(state: ServerState, key: string, message: string | null): void {
  if (message === null) {
    state.problems.delete(key);
  } else if (state.problems.get(key) !== message) {
    state.problems.set(key, message);
    log('error', message);
  }
}

/**
 * The concrete jobs a schedule entry stands for: one for a plain entry; for
 * a template entry one per platform that has the template (or just `only`).
 * A platform that is known (a worker or a queue) but whose template is
 * missing or unreadable is logged and listed in `info` problems; the other
 * platforms still get the job.
 */
export async function jobsOf(state: ServerState, e: ScheduleEntry, only?: string): Promise<Job[]> {
  if (!e.template) return [{ name: e.name, platform: e.platform, script: e.script, timeout_s: e.timeout_s }];
  const withTemplate = await templatePlatforms(state, e.template.name);
  const known = new Set([...state.queues.platforms(), ...[...state.workers.values()].map((w) => w.facts.platform), ...withTemplate]);
  let platforms = e.platform === ALL_PLATFORMS ? [...known] : [e.platform];
  if (only) platforms = platforms.includes(only) || e.platform === ALL_PLATFORMS ? [only] : [];
  const jobs: Job[] = [];
  for (const platform of platforms.sort()) {
    if (state.dropped.has(platform)) continue;
    const key = `${e.name}/${platform}`;
    const file = join(state.config.configDir, templateFile(e.template.name, platform));
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      problem(state, key, `template job ${e.name}: cannot read ${file} for platform ${platform}: ${reason(err)} (add the template, or undrop/drop the platform)`);
      continue;
    }
    problem(state, key, null);
    const script = expandTemplate(text, { OPAM_PACKAGE: e.template.opam_package, PLATFORM: platform });
    jobs.push({ name: e.name, platform, script, timeout_s: e.timeout_s });
  }
  return jobs;
}
