import { constants, promises as fs } from 'node:fs';
import type http from 'node:http';
import { basename, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BuilderError } from '../../shared/errors.js';
import { confineArtifactPath } from '../../spool/paths.js';
import type { ResultRecord } from '../../spool/records.js';
import { ConsoleReader, locateConsole } from '../core/follow-console.js';
import type { Run } from '../core/run-phase.js';
import type { ServerState } from '../core/state.js';
import { storedResults } from './recent.js';

/** A run the status pages can show: in progress, or stored in results/. */
export type FoundRun = { kind: 'live'; run: Run } | { kind: 'stored'; name: string; result: ResultRecord };

/** Finds a run by id: running, or stored (also results/ entries the server did not store itself). */
export async function findRun(state: ServerState, runId: string): Promise<FoundRun | null> {
  const live = state.runs.get(runId);
  if (live) return { kind: 'live', run: live };
  const name = state.results.get(runId) ?? (await storedResults(state)).find((r) => r.runId === runId)?.name;
  if (!name) return null;
  const result = await state.spool.readResult(name, runId);
  return result ? { kind: 'stored', name, result } : null;
}

/** The console path of a found run. */
export function consolePathOf(state: ServerState, runId: string, found: FoundRun): string | (() => string) {
  if (found.kind === 'stored') return state.spool.path('results', found.name, runId, 'console.ndjson');
  return locateConsole(state, runId)?.path ?? state.spool.consolePath(runId);
}

async function write(res: http.ServerResponse, text: string): Promise<void> {
  if (res.destroyed) throw new BuilderError('connection_closed', 'the browser went away');
  if (!res.write(text)) await new Promise<void>((r) => res.once('drain', r).once('close', r));
}

/** Streams a run's console as plain text, one line per console line (what is there now, for a live run). */
export async function sendConsoleText(state: ServerState, res: http.ServerResponse, runId: string, found: FoundRun): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  const reader = new ConsoleReader(consolePathOf(state, runId, found));
  try {
    await reader.readAll((_n, c) => write(res, c.line + '\n'));
  } finally {
    await reader.close();
  }
  res.end();
}

const TEXT = /\.(txt|log|json|ndjson|md|sh|csv|xml|ya?ml|toml|ini|conf|c|h|ts|js|py|ml|opam|sha256|sha512|buildinfo|changes)$/i;

/**
 * Streams one artifact of a stored run from disk. The URL path is decoded
 * per segment, then confined like a worker's artifact path (no `..`, no
 * absolute path, no NUL or backslash) and resolved without following links
 * out of the run's artifacts/ directory. Artifacts are served as text or
 * octet-stream only, sandboxed, never as HTML of this origin.
 */
export async function sendArtifact(state: ServerState, res: http.ServerResponse, runId: string, found: FoundRun, rawPath: string): Promise<void> {
  if (found.kind === 'live') throw new BuilderError('not_found', `run ${runId} is still running: its artifacts arrive when it ends`);
  let rel: string;
  try {
    rel = confineArtifactPath(rawPath.split('/').map((s) => decodeURIComponent(s)).join('/'));
  } catch (e) {
    throw new BuilderError('bad_request', e instanceof URIError ? 'malformed percent-encoding in the artifact path' : (e as Error).message);
  }
  const base = await fs.realpath(state.spool.path('results', found.name, runId, 'artifacts')).catch(() => null);
  const real = base ? await fs.realpath(join(base, rel)).catch(() => null) : null;
  if (!base || !real || !real.startsWith(base + sep)) throw new BuilderError('not_found', `run ${runId} has no artifact ${rel}`);
  const fd = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = await fd.stat();
    if (!st.isFile()) throw new BuilderError('not_found', `run ${runId} has no artifact ${rel} (not a regular file)`);
    const text = TEXT.test(rel);
    res.writeHead(200, {
      'Content-Type': text ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'Content-Length': String(st.size),
      'Content-Disposition': `${text ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(basename(rel))}`,
      'Content-Security-Policy': 'sandbox',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, max-age=3600',
    });
    await pipeline(fd.createReadStream({ autoClose: false }), res);
  } finally {
    await fd.close();
  }
}
