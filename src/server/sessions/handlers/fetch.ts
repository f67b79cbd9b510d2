import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import type { ServerState } from '../../core/state.js';

/** `fetch`: sends a stored run's artifacts as announced raw frames (streamed from disk), then success. */
export async function handleFetch(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'fetch' }>): Promise<void> {
  const name = state.results.get(m.run_id);
  if (!name) {
    const running = state.runs.has(m.run_id);
    throw new BuilderError('unknown_run', running ? `run ${m.run_id} is still running; fetch it when it has finished` : `no stored run with id ${m.run_id} (see: builder-client results)`);
  }
  const result = await state.spool.readResult(name, m.run_id);
  if (!result) throw new BuilderError('unknown_run', `the result of run ${m.run_id} cannot be read (see the server log)`);
  let artifacts = result.artifacts;
  if (m.paths) {
    const want = new Set(m.paths);
    artifacts = artifacts.filter((a) => want.has(a.path));
    const missing = m.paths.find((p) => !artifacts.some((a) => a.path === p));
    if (missing !== undefined) throw new BuilderError('unknown_artifact', `run ${m.run_id} has no artifact ${JSON.stringify(missing)} (see: builder-client results)`);
  }
  await conn.send({ type: 'fetch_reply', run_id: m.run_id, artifacts });
  const base = join(state.spool.resultDir(name, m.run_id), 'artifacts');
  for (const a of artifacts) {
    await conn.sendFrame({ type: 'artifact', run_id: m.run_id, path: a.path, size: a.size, mode: a.mode }, createReadStream(join(base, a.path)), a.size);
  }
  await conn.send({ type: 'success', message: `sent ${artifacts.length} artifacts` });
}
