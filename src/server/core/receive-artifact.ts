import { Writable } from 'node:stream';
import type { Connection } from '../../protocol/connection.js';
import type { ArtifactInfo } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { admitArtifact } from './limits.js';
import type { RunState, ServerState } from './state.js';

/**
 * Streams one announced artifact from the worker's connection into the
 * run's directory, or reads and drops its bytes (a stale run, a refused path,
 * a run over its limits). Whatever happens to the file, exactly the announced
 * bytes are read, so the session stays in step and goes on. A write error
 * (disk full) removes the partial file and makes the run's stored outcome
 * `failed: cannot store artifact PATH: REASON`. Rejects only when the
 * connection fails.
 */
export async function receiveArtifact(state: ServerState, run: RunState | null, conn: Connection, a: ArtifactInfo): Promise<void> {
  if (!run) return drop(conn, a);
  const id = run.record.run_id;
  const before = run.usage.exceeded;
  const over = admitArtifact(state.config.limits, run.usage, a);
  if (over) {
    // Said once per run.
    if (!before) {
      log('warn', `artifact ${a.path} refused: ${over}; the run's later artifacts are discarded`, id);
      run.console.append({ t: 0, line: `builder-server: artifact ${a.path} refused: ${over}; later artifacts are discarded` });
    }
    return drop(conn, a);
  }
  let target;
  try {
    target = await state.spool.openArtifact(id, a.path, a.mode);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'bad_artifact_path') return failed(run, a.path, e, () => drop(conn, a));
    log('warn', `artifact refused: ${reason(e)}`, id);
    run.console.append({ t: 0, line: `builder-server: artifact refused: ${reason(e)}` });
    return drop(conn, a);
  }
  const { stream } = target;
  try {
    await conn.readRaw(a.size, stream);
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (e) {
    stream.destroy();
    if (conn.isClosed) {
      await state.spool.removeArtifact(id, target.path);
      throw e;
    }
    return failed(run, target.path, (e as { cause?: unknown }).cause ?? e, () => state.spool.removeArtifact(id, target.path));
  }
  run.artifacts.push({ path: target.path, size: a.size, mode: a.mode & 0o777 });
}

async function failed(run: RunState, path: string, e: unknown, then: () => Promise<void>): Promise<void> {
  const why = `cannot store artifact ${path}: ${reason(e)}`;
  run.usage.storage ??= why;
  log('error', why, run.record.run_id);
  // First free the space the partial file took, so that the console line below can be written.
  await then();
  run.console.append({ t: 0, line: `builder-server: ${why}` });
}

function drop(conn: Connection, a: ArtifactInfo): Promise<void> {
  return conn.readRaw(a.size, new Writable({ write: (_c, _e, cb) => cb() }));
}
