import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { usageError } from '../../shared/cli.js';
import { BuilderError, reason } from '../../shared/errors.js';
import { confineArtifactPath } from '../../spool/paths.js';
import type { Command } from '../command.js';
import { plural, printJson } from '../output.js';
import { open, reply } from '../request.js';
import { runIdArg } from '../run-id.js';
import { artifactLine, humanSize } from './results.js';

/** A sink that hashes what it passes on to `out` (SHA-256), ending `out` when it ends. */
function hashingSink(out: WriteStream): { sink: Writable; sha256: () => string } {
  const hash = createHash('sha256');
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (out.write(chunk)) cb();
      else out.once('drain', () => cb());
    },
    final(cb) {
      out.end((e?: Error | null) => cb(e));
    },
  });
  out.on('error', (e) => sink.destroy(e));
  return { sink, sha256: () => hash.digest('hex') };
}

export const fetch: Command = {
  name: 'fetch',
  summary: "download a finished run's artifacts into a directory",
  usage:
    'fetch RUN_ID DIR\n  Files keep their relative paths under DIR; existing files are not overwritten.\n  Each file is hashed as it arrives and checked against the sha256 the server recorded.',
  flags: [],
  async run({ remote, json, args }) {
    const [id, dir, extra] = args._;
    if (extra !== undefined) usageError(`unexpected argument "${extra}"`);
    const runId = runIdArg(id);
    if (dir === undefined) usageError('missing DIR (where to put the artifacts)');
    const conn = await open(remote, { type: 'fetch', run_id: runId });
    const written: { path: string; size: number; sha256: string }[] = [];
    let fullId = runId;
    const failed: string[] = [];
    const damaged: string[] = [];
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
        const { sink, sha256 } = hashingSink(out);
        try {
          await conn.readRaw(m.size, sink);
          await new Promise<void>((ok, fail) => sink.end((e?: Error | null) => (e ? fail(e) : ok())));
          const got = sha256();
          const recorded = head.artifacts.find((a) => a.path === m.path)?.sha256;
          if (recorded && recorded !== got) damaged.push(`${rel} (sha256 ${got}, the server recorded ${recorded})`);
          written.push({ path: rel, size: m.size, sha256: got });
        } catch (e) {
          if (conn.isClosed) throw e;
          // A write error (disk full): the rest of its bytes were read and dropped, so the next artifact follows in step.
          sink.destroy();
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
    if (damaged.length > 0)
      throw new BuilderError('fetch_damaged', `fetched into ${resolve(dir)}, but ${plural(damaged.length, 'file')} differ from the server's record: ${damaged.join('; ')} (the stored copy or the transfer is damaged)`);
    if (json) printJson({ run_id: fullId, dir: resolve(dir), artifacts: written });
    else {
      console.log(`fetched ${plural(written.length, 'artifact')} (${humanSize(written.reduce((n, a) => n + a.size, 0))}) into ${resolve(dir)}, sha256 checked`);
      for (const a of written) console.log(artifactLine(a));
    }
  },
};
