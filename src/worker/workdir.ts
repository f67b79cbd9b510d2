import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../shared/cli.js';
import { reason } from '../shared/errors.js';

/**
 * Checks at start that --workdir can hold the per-job temp dirs (it exists,
 * is a directory, and a dir can be made and removed in it), so that a bad
 * one is a usage error (exit 124) before the worker takes any job.
 */
export async function checkWorkdir(dir: string): Promise<void> {
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) usageError(`--workdir ${dir} is not a directory`);
    const probe = await fs.mkdtemp(join(dir, '.builder-probe-'));
    await fs.rmdir(probe);
  } catch (e) {
    if ((e as { code?: string }).code === 'usage') throw e;
    usageError(`--workdir ${dir} cannot hold the jobs' work dirs: ${reason(e)} (give a writable directory)`);
  }
}
