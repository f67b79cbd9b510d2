import { Writable } from 'node:stream';
import type { ArtifactInfo } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { admitArtifact } from './limits.js';
import type { Run } from './run-phase.js';
import type { ServerState } from './state.js';

/**
 * Where the bytes of one announced artifact go. The session reads exactly
 * the announced size from its connection into `stream`, then calls `done`
 * (with the read error, if reading failed). The core never sees the socket.
 */
export interface ArtifactSink {
  readonly stream: Writable;
  /** Ends the artifact: records it on success; a write error is logged to the run's console and its partial file removed. */
  done(readError?: unknown): Promise<void>;
}

/** A sink that drops bytes (a stale run, a refused artifact), so the worker's stream stays in step. */
function discardSink(): ArtifactSink {
  return { stream: new Writable({ write: (_c, _e, cb) => cb() }), done: async () => undefined };
}

/** The sink for an artifact of `run` (null: a stale attempt, whose bytes are discarded). */
export async function artifactSink(state: ServerState, run: Run | null, a: ArtifactInfo): Promise<ArtifactSink> {
  if (!run) return discardSink();
  const say = (line: string) => run.console?.append({ t: 0, line: `builder-server: ${line}` });
  const before = run.usage.exceeded;
  const over = admitArtifact(state.config.limits, run.usage, a);
  if (over) {
    // Said once per run; the bytes are read and dropped.
    if (!before) {
      log('warn', `artifact ${a.path} refused: ${over}; the run's later artifacts are discarded`, run.record.run_id);
      say(`artifact ${a.path} refused: ${over}; later artifacts are discarded`);
    }
    return discardSink();
  }
  let target: Awaited<ReturnType<ServerState['spool']['openArtifact']>>;
  try {
    target = await state.spool.openArtifact(run.record.run_id, a.path, a.mode);
  } catch (e) {
    if ((e as { code?: string }).code !== 'bad_artifact_path') {
      // Not the worker's fault (disk full, permissions): the run cannot be stored whole.
      const why = `cannot store artifact ${a.path}: ${reason(e)}`;
      run.usage.storage ??= why;
      log('error', why, run.record.run_id);
      say(why);
      return discardSink();
    }
    log('warn', `artifact refused: ${reason(e)}`, run.record.run_id);
    say(`artifact refused: ${reason(e)}`);
    return discardSink();
  }
  // A write error (disk full) may come after write() accepted the bytes: remember it, never let it crash the server.
  let writeError: Error | null = null;
  target.stream.on('error', (e: Error) => (writeError ??= e));
  return {
    stream: target.stream,
    async done(readError?: unknown) {
      if (readError === undefined) {
        try {
          await new Promise<void>((resolve, reject) => target.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
        } catch (e) {
          writeError ??= e as Error;
        }
      } else if ((readError as { code?: string }).code !== 'sink_failed') {
        // The connection failed mid-artifact: the run is lost anyway; only the partial file goes.
        target.stream.destroy();
        await state.spool.dropArtifact(run.record.run_id, target.path).catch(() => undefined);
        return;
      } else {
        target.stream.destroy();
        // Connection.readRaw's sink_failed carries the write error as its cause.
        writeError ??= ((readError as { cause?: unknown }).cause ?? readError) as Error;
      }
      if (writeError) {
        // Storage failure is never success: the stored outcome says which file and why.
        const why = `cannot store artifact ${a.path}: ${reason(writeError)}`;
        run.usage.storage ??= why;
        log('error', why, run.record.run_id);
        // A partial file must not be stored or served as if it were the artifact; removed
        // first, so that on a full disk the console line below finds room.
        await state.spool.dropArtifact(run.record.run_id, target.path).catch(() => undefined);
        say(why);
        return;
      }
      run.artifacts.push({ path: target.path, size: a.size, mode: a.mode & 0o777, sha256: target.stream.sha256() });
    },
  };
}
