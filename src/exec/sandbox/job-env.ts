// The environment a job gets: built from nothing, never copied from the
// worker's, so no BUILDER_* variable, token, proxy password or anything else
// the worker was given reaches the job.

/** PATH for a job when the worker has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Variables copied from the worker when set: locale and terminal only (they carry no secret). */
const PASSED = ['LANG', 'LC_ALL', 'LC_CTYPE', 'TERM', 'TZ'];

/**
 * The job's whole environment: PATH (the worker's, else DEFAULT_PATH), HOME,
 * the locale and terminal variables, USER/LOGNAME when run as another user,
 * and BUILDER_JOB (the job's name).
 */
export function jobEnv(from: NodeJS.ProcessEnv, job: { name: string; home: string; user?: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: from.PATH && !from.PATH.includes('=') ? from.PATH : DEFAULT_PATH, HOME: job.home };
  for (const k of PASSED) if (from[k] !== undefined) env[k] = from[k];
  if (job.user !== undefined) {
    env.USER = job.user;
    env.LOGNAME = job.user;
  }
  env.BUILDER_JOB = job.name;
  return env;
}
