import { createWriteStream, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError } from '../../shared/cli.js';
import { BuilderError, reason } from '../../shared/errors.js';
import { confineArtifactPath } from '../../spool/paths.js';
import type { Command } from '../command.js';
import { plural, printJson } from '../output.js';
import { open, reply } from '../request.js';
import { runIdArg } from '../run-id.js';
import { humanSize } from './results.js';

export const fetch: Command = {
  name: 'fetch',
  summary: "download a finished run's artifacts into a directory",
  usage: 'fetch RUN_ID DIR\n  Files keep their relative paths under DIR; existing files are not overwritten.',
  flags: [],
  async run({ remote, json, args }) {
    const [id, dir, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    const runId = runIdArg(id);
    if (dir === undefined) usageError('missing DIR (where to put the artifacts)');
    const conn = await open(remote, { type: 'fetch', run_id: runId });
    const written: { path: string; size: number }[] = [];
    let fullId = runId;
    const failed: string[] = [];
    try {
      const head = await reply(conn);
      if (head.type !== 'fetch_reply') throw new BuilderError('bad_reply', `unexpected reply "${head.type}" to fetch`);
      fullId = head.run_id;
      const total = head.artifacts.reduce((n, a) => n + a.size, 0);
      const tty = process.stderr.isTTY === true && !json;
      let done = 0;
      await fs.mkdir(dir, { recursive: true });
      for (;;) {
        const m = await reply(conn);
        if (m.type === 'success') break;
        if (m.type !== 'artifact') throw new BuilderError('bad_reply', `unexpected "${m.type}" while fetching`);
        const rel = confineArtifactPath(m.path);
        const target = join(resolve(dir), rel);
        await fs.mkdir(join(target, '..'), { recursive: true });
        const out = createWriteStream(target, { flags: 'wx', mode: m.mode & 0o777 });
        await new Promise<void>((ok, fail) => out.once('open', () => ok()).once('error', fail)).catch((e) => {
          throw new BuilderError('fetch_write', `cannot write ${target}: ${reason(e)}`);
        });
        const progress = tty ? setInterval(() => process.stderr.write(`\r${humanSize(done + out.bytesWritten)} of ${humanSize(total)}  ${rel}`), 200) : null;
        try {
          await conn.readRaw(m.size, out);
          await new Promise<void>((ok, fail) => out.end((e?: Error | null) => (e ? fail(e) : ok())));
          written.push({ path: rel, size: m.size });
        } catch (e) {
          if (conn.isClosed) throw e;
          // A write error (disk full): the rest of its bytes were read and dropped, so the next artifact follows in step.
          out.destroy();
          await fs.rm(target, { force: true }).catch(() => undefined);
          failed.push(`cannot write ${target}: ${reason((e as { cause?: unknown }).cause ?? e)}`);
        } finally {
          if (progress) clearInterval(progress);
        }
        done += m.size;
      }
      if (tty) process.stderr.write(`\r${humanSize(total)} of ${humanSize(total)}\n`);
    } finally {
      conn.destroy();
    }
    if (failed.length > 0) throw new BuilderError('fetch_write', `${failed.join('; ')} (fetched ${plural(written.length, 'other artifact')}; free some space and fetch again into an empty DIR)`);
    if (json) printJson({ run_id: fullId, dir: resolve(dir), artifacts: written });
    else console.log(`fetched ${plural(written.length, 'artifact')} (${humanSize(written.reduce((n, a) => n + a.size, 0))}) into ${resolve(dir)}`);
  },
};
