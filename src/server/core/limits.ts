import type net from 'node:net';
import type { ArtifactInfo, Outcome } from '../../protocol/types.js';
import { describeOutcome } from '../../protocol/types.js';

/** What one peer or one run may cost the server (flags with defaults). */
export interface Limits {
  /** Files a run may send back. */
  maxArtifacts: number;
  /** Total artifact bytes of a run. */
  maxArtifactBytes: number;
  /** Console bytes of a run (line text, UTF-8). */
  maxConsoleBytes: number;
  /** Open connections from one IP address at once. */
  maxConnectionsPerAddress: number;
  /** Time a new connection has to finish TLS and send its hello. */
  helloTimeoutMs: number;
  /** Time a client may stay silent inside a batch, or an observer may leave its console unread, before it is closed. */
  clientIdleMs: number;
}

/** The defaults: generous for real builds, small enough that one run cannot fill a disk or memory unnoticed. */
export const DEFAULT_LIMITS: Limits = {
  maxArtifacts: 10_000,
  maxArtifactBytes: 8 * 1024 ** 3,
  maxConsoleBytes: 64 * 1024 ** 2,
  maxConnectionsPerAddress: 64,
  helloTimeoutMs: 10_000,
  clientIdleMs: 30_000,
};

/** A byte count as the operator would write it: `8 GiB`, `64 MiB`, else exact: `2000 bytes`. */
export function formatBytes(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && v % 1024 === 0 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? `${n} bytes` : `${v} ${units[u]}`;
}

/** What a run used so far, and why it went over a limit (its outcome then says so). */
export interface RunUsage {
  artifacts: number;
  artifactBytes: number;
  consoleBytes: number;
  exceeded: string | null;
  /** Why something the result depends on could not be stored (`cannot store artifact PATH: REASON`), first one wins. */
  storage: string | null;
}

/** A fresh usage record for a starting run. */
export function newUsage(): RunUsage {
  return { artifacts: 0, artifactBytes: 0, consoleBytes: 0, exceeded: null, storage: null };
}

/**
 * Accounts one announced artifact. Returns null when it may be stored, or
 * why not; once a run went over a limit, all its later artifacts are refused
 * too (its outcome is a failure anyway).
 */
export function admitArtifact(limits: Limits, u: RunUsage, a: ArtifactInfo): string | null {
  if (u.exceeded) return u.exceeded;
  if (u.artifacts + 1 > limits.maxArtifacts) u.exceeded = `more than ${limits.maxArtifacts} artifacts (--max-artifacts)`;
  else if (u.artifactBytes + a.size > limits.maxArtifactBytes)
    u.exceeded = `artifacts exceed the limit of ${formatBytes(limits.maxArtifactBytes)} (--max-artifact-bytes)`;
  if (u.exceeded) return u.exceeded;
  u.artifacts++;
  u.artifactBytes += a.size;
  return null;
}

/**
 * Accounts one console line. Returns 'keep', 'last' (the line that crossed
 * the limit: the caller stores a notice instead) or 'drop'.
 */
export function admitConsoleLine(limits: Limits, u: RunUsage, line: string): 'keep' | 'last' | 'drop' {
  if (u.consoleBytes > limits.maxConsoleBytes) return 'drop';
  u.consoleBytes += Buffer.byteLength(line) + 1;
  if (u.consoleBytes <= limits.maxConsoleBytes) return 'keep';
  u.exceeded ??= `console exceeds the limit of ${formatBytes(limits.maxConsoleBytes)} (--max-console-bytes)`;
  return 'last';
}

/** The console line stored in place of the one that crossed --max-console-bytes. */
export function consoleCapNotice(exceeded: string): string {
  return `builder-server: ${exceeded}; further output discarded`;
}

const CAP_NOTICE = /^builder-server: (console exceeds the limit of .* \(--max-console-bytes\)); further output discarded$/;

/**
 * The usage of a run adopted after a restart, from its console as stored
 * (`bytes` counted as admitConsoleLine does, `last` its last line): a run
 * that had hit the console limit stays over it (the resent lines past it are
 * dropped again, and its outcome says so), one below it keeps counting.
 */
export function restoredUsage(limits: Limits, bytes: number, last: string | null): RunUsage {
  const u = newUsage();
  const capped = last === null ? null : CAP_NOTICE.exec(last);
  u.consoleBytes = capped ? limits.maxConsoleBytes + 1 : bytes;
  if (capped) u.exceeded = capped[1]!;
  return u;
}

/** The outcome stored for a run: the worker's, unless something could not be stored or the run went over a limit. */
export function limitedOutcome(u: RunUsage, reported: Outcome): Outcome {
  if (u.storage) return { kind: 'failed', message: u.storage };
  if (!u.exceeded) return reported;
  return { kind: 'failed', message: `${describeOutcome(reported)}, but ${u.exceeded}; the rest was discarded` };
}

/**
 * Counts open connections per IP address and refuses the ones over the
 * limit. `admit` returns false for a socket that must be refused; its slot
 * is given back when it closes.
 */
export class AddressCounter {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot for the socket's address; false when the address is at its limit. */
  admit(socket: net.Socket): boolean {
    const addr = socket.remoteAddress ?? 'unknown';
    const n = this.open.get(addr) ?? 0;
    if (n >= this.max) return false;
    this.open.set(addr, n + 1);
    socket.once('close', () => {
      const left = (this.open.get(addr) ?? 1) - 1;
      if (left <= 0) this.open.delete(addr);
      else this.open.set(addr, left);
    });
    return true;
  }
}
