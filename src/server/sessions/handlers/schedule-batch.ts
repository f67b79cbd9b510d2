import type { Connection } from '../../../protocol/connection.js';
import { decodeClientMessage } from '../../../protocol/decode.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError, reason } from '../../../shared/errors.js';
import type { ServerState } from '../../core/state.js';
import { platformWarnings } from './platform-warning.js';
import { addEntries, describeCounts, entryOf } from './schedule.js';

/** `schedule_batch` (`schedule --from`): reads `count` schedule lines and adds them all, or none. */
export async function handleScheduleBatch(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'schedule_batch' }>): Promise<void> {
  const entries = [];
  for (let i = 1; i <= m.count; i++) {
    let line;
    try {
      line = decodeClientMessage(await conn.readLine());
      if (line.type !== 'schedule') throw new BuilderError('bad_message', `expected a schedule line, got "${line.type}"`);
      entries.push(entryOf(state, line.job));
    } catch (e) {
      throw new BuilderError((e as BuilderError).code ?? 'bad_message', `job ${i} of ${m.count}: ${reason(e)}; nothing was scheduled`);
    }
  }
  const counts = await addEntries(state, entries, { replace: m.replace === true });
  const warnings = await platformWarnings(state, entries.map((e) => e.platform));
  await conn.send({ type: 'success', message: describeCounts(counts), ...(warnings.length ? { warnings } : {}) });
}
