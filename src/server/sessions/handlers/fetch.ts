import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError, reason } from '../../../shared/errors.js';
import type { ServerState } from '../../core/state.js';
import { resolveRunId } from './resolve-run-id.js';
import { storedResult } from './stored-result.js';

/** `fetch`: sends a stored run's artifacts as announced raw frames (streamed from disk), then success. */
export async function handleFetch(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'fetch' }>): Promise<void> {
  const runId = resolveRunId(state, m.run_id);
  const { name, result } = await storedResult(state, runId, 'fetch');
  let artifacts = result.artifacts;
  if (m.paths) {
    const want = new Set(m.paths);
    artifacts = artifacts.filter((a) => want.has(a.path));
    const missing = m.paths.find((p) => !artifacts.some((a) => a.path === p));
    if (missing !== undefined) throw new BuilderError('unknown_artifact', `run ${runId} has no artifact ${JSON.stringify(missing)} (see: builder-client results)`);
  }
  await conn.send({ type: 'fetch_reply', run_id: runId, artifacts });
  const base = join(state.spool.resultDir(name, runId), 'artifacts');
  const problems: string[] = [];
  for (const a of artifacts) {
    // The frame always carries exactly the announced size (padded if the file is short or fails): the stream stays in step.
    const { sent, error } = await conn.sendFrame({ type: 'artifact', run_id: runId, path: a.path, size: a.size, mode: a.mode }, createReadStream(join(base, a.path)), a.size);
    if (error || sent < a.size) problems.push(`${a.path}: ${error ? reason(error) : `only ${sent} of ${a.size} bytes on the server`}`);
  }
  if (problems.length > 0) throw new BuilderError('fetch_failed', `cannot read stored artifacts of run ${runId} (${problems.join('; ')}); the files named were sent incomplete`);
  await conn.send({ type: 'success', message: `sent ${artifacts.length} artifact${artifacts.length === 1 ? '' : 's'}` });
}
