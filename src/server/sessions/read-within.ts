import type { Connection } from '../../protocol/connection.js';
import { BuilderError } from '../../shared/errors.js';

/** The next line from a client, or a BuilderError('timeout') naming `what` when it sends nothing for `ms` (--client-idle-timeout). */
export async function readLineWithin(conn: Connection, ms: number, what: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BuilderError('timeout', `${what}: nothing received for ${ms / 1000} s (--client-idle-timeout); closed`)), ms);
  });
  try {
    return await Promise.race([conn.readLine(), silent]);
  } finally {
    clearTimeout(timer);
  }
}
