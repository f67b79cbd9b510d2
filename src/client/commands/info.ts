import type { InfoReply } from '../../protocol/messages.js';
import { BuilderError } from '../../shared/errors.js';
import { intFlag, usageError } from '../../shared/cli.js';
import type { Command } from '../command.js';
import { paint, plural, printJson, table } from '../output.js';
import { request } from '../request.js';

/** Renders `info` for people: each section's rows as aligned columns. */
export function renderInfo(info: InfoReply): string {
  const out: string[] = [];
  out.push(paint.bold(`schedule (${info.schedule.length})`));
  out.push(
    ...table(
      info.schedule.map((e) => [
        e.name,
        e.platform === '*' ? 'every platform with its template' : e.platform,
        e.cron ? `cron "${e.cron}" ${e.tz ?? 'UTC'}` : (e.period ?? ''),
        `next: ${e.next ?? 'on execute only'}`,
        e.template ? `(${e.template})` : '',
        e.verify ? `verify ${e.verify}` : '',
      ]),
    ),
  );
  out.push(paint.bold('queues'));
  if (info.queues.length === 0) out.push('  (none)');
  out.push(
    ...table(
      info.queues.map((q) => {
        const count = q.count ?? q.jobs.length;
        const more = count > q.jobs.length ? ` ... and ${count - q.jobs.length} more (info --all lists them)` : '';
        return [`${q.platform}${q.paused ? paint.yellow(' (paused)') : ''}`, plural(count, 'job'), count ? `${q.jobs.map((j) => j.name).join(', ')}${more}` : ''];
      }),
    ),
  );
  out.push(paint.bold(`running (${info.running.length})`));
  out.push(...table(info.running.map((r) => [r.run_id, r.name, r.platform, `since ${r.started}`, `on ${r.worker}`])));
  out.push(paint.bold(`workers (${info.workers.length})`));
  out.push(...table(info.workers.map((w) => [w.id, w.platform, w.hostname, w.peer, `since ${w.since}`, w.run_id ? `running ${w.run_id}` : 'idle'])));
  if (info.dropped.length) out.push(paint.bold('dropped platforms: ') + info.dropped.join(', '));
  if (info.paused?.length) out.push(paint.bold('paused platforms: ') + info.paused.join(', '));
  if (info.problems?.length) {
    out.push(paint.bold(paint.red(`problems (${info.problems.length})`)));
    for (const p of info.problems) out.push(`  ${p}`);
  }
  const up = info.upload;
  if (up && (up.url || up.outbox || up.dead_letter)) out.push(paint.bold('upload: ') + `${up.url ?? '(off)'}  outbox ${up.outbox}  dead-letter ${up.dead_letter}`);
  return out.join('\n');
}

export const info: Command = {
  name: 'info',
  summary: 'show the schedule, queues, running jobs, workers and dropped platforms',
  usage: `info [--limit N | --all]
  --limit N  list the first N jobs of each queue (default 100; every queue shows its count)
  --all      list every queued job`,
  flags: ['limit', 'all'],
  booleans: ['all'],
  async run({ remote, json, args }) {
    if (args._.length > 0) usageError(`unexpected argument "${args._[0]}"`);
    if (args.all && args.limit !== undefined) usageError('give --limit N or --all, not both');
    const limit = args.all ? 0 : args.limit === undefined ? undefined : intFlag('--limit', args.limit, 1, Number.MAX_SAFE_INTEGER);
    const r = await request(remote, limit === undefined ? { type: 'info' } : { type: 'info', limit });
    if (r.type !== 'info_reply') throw new BuilderError('bad_reply', `unexpected reply "${r.type}" to info`);
    if (json) printJson(r.info);
    else console.log(renderInfo(r.info));
  },
};
