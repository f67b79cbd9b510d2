import type { Readable } from 'node:stream';

/** Longest console line kept whole; longer output is split so memory stays bounded. */
export const MAX_CONSOLE_LINE = 64 * 1024;

/**
 * Reads a stream as lines (without their newline) and awaits `onLine` for
 * each, so a slow consumer slows the producer instead of filling memory.
 * A final line without a newline is delivered too.
 */
export async function forEachLine(stream: Readable, onLine: (line: string) => Promise<void>): Promise<void> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    let buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      await onLine(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    buf = buf.subarray(start);
    while (buf.length > MAX_CONSOLE_LINE) {
      await onLine(buf.toString('utf8', 0, MAX_CONSOLE_LINE));
      buf = buf.subarray(MAX_CONSOLE_LINE);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length > 0) await onLine(carry.toString('utf8'));
}
