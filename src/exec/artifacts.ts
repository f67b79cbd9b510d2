import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { reason } from '../shared/errors.js';

/** One file a job left in its work dir, to be sent back. */
export interface FoundArtifact {
  path: string;
  full: string;
  size: number;
  mode: number;
}

/**
 * Lists the regular files a job left in `dir` (recursively, paths relative
 * with `/`), except `skip` (the script). Links, fifos, sockets and devices
 * are not artifacts: each is reported through `problem`, as is anything that
 * cannot be read, and skipped.
 */
export async function findArtifacts(dir: string, skip: string, problem: (message: string) => Promise<void>): Promise<FoundArtifact[]> {
  const out: FoundArtifact[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(join(dir, rel), { withFileTypes: true });
    } catch (e) {
      await problem(`cannot read directory ${rel || '.'}: ${reason(e)}; its files are not sent`);
      return;
    }
    for (const d of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      if (path === skip) continue;
      if (d.isDirectory()) await walk(path);
      else if (d.isFile()) {
        try {
          const full = join(dir, path);
          const st = await fs.stat(full);
          await fs.access(full, fs.constants.R_OK);
          out.push({ path, full, size: st.size, mode: st.mode & 0o777 });
        } catch (e) {
          await problem(`cannot read artifact ${path}: ${reason(e)}; not sent`);
        }
      } else {
        const kind = d.isSymbolicLink() ? 'a symbolic link' : d.isFIFO() ? 'a fifo' : d.isSocket() ? 'a socket' : 'a device';
        await problem(`artifact ${path} is ${kind}, not a regular file; not sent`);
      }
    }
  };
  await walk('');
  return out;
}
