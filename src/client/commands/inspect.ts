import { createWriteStream, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describeOutcome } from '../../protocol/types.js';
import { usageError } from '../../shared/cli.js';
import { BuilderError, reason } from '../../shared/errors.js';
import { confineArtifactPath } from '../../spool/paths.js';
import { decodeExec, execRunOfDecoded } from '../../upload/exec-decode.js';
import { NO_PLATFORM, dateOfExecTime, readStoredRun, type ExecRun, type Text } from '../../upload/exec-run.js';
import type { Command } from '../command.js';
import { paint, printJson } from '../output.js';

// Reads a finished run offline, with no server: a DER blob (the original's
// .full files, our run.der, a builder-web upload) or a stored result
// directory (results/<job>/<run-id>/). Both become an ExecRun.

const PARTS = ['console', 'script', 'job'] as const;

export const inspect: Command = {
  name: 'inspect',
  summary: 'read a stored result (DER file or results/<job>/<run-id>/ dir) offline',
  usage: `inspect FILE_OR_DIR [--console] [--script] [--job] [--output DIR]
  FILE_OR_DIR  a DER blob (.full, run.der) or a stored result dir (results/<job>/<run-id>/)
  (default)    a summary: job, platform, run id, times, outcome, artifacts with sizes and sha256
  --console    the console, oldest line first
  --script     the job's script
  --job        the job's fields
  --output DIR write the artifacts under DIR (paths confined to it; existing files are not overwritten)
  No server is contacted. --json prints one JSON document.`,
  flags: ['console', 'script', 'job', 'output'],
  booleans: ['console', 'script', 'job'],
  offline: true,
  async run({ json, args }) {
    const positional = [...args._];
    const want = new Set<string>(PARTS.filter((p) => args[p] === true));
    if (positional.length !== 1) usageError(positional.length === 0 ? 'inspect needs FILE_OR_DIR' : `inspect takes one FILE_OR_DIR, not "${positional[1]}" too`);
    if (args.output === true || args.output === '') usageError('--output needs a DIR');
    const run = await load(positional[0]!);
    if (args.output !== undefined) await writeArtifacts(run, String(args.output), json);
    else if (json) printJson(jsonView(run, want));
    else printView(run, want);
  },
};

async function load(path: string): Promise<ExecRun> {
  let st;
  try {
    st = await fs.stat(path);
  } catch (e) {
    throw new BuilderError('not_found', `cannot inspect ${path}: ${reason(e)} (give a DER file or a results/<job>/<run-id>/ dir)`);
  }
  if (st.isDirectory()) return readStoredRun(path);
  // A DER blob is decoded whole: the original's files are read the same way by its tools.
  const bytes = await fs.readFile(path);
  try {
    return execRunOfDecoded(decodeExec(bytes));
  } catch (e) {
    // Another file of a stored result dir (result.json, console.ndjson): say which dir to give.
    if (await exists(join(dirname(path), 'result.json')))
      throw new BuilderError('not_a_result', `${path} is one file of a stored result: give its directory, builder-client inspect ${dirname(path)}`);
    if (e instanceof BuilderError) throw new BuilderError(e.code, `${path} is not a builder result: ${e.message}`);
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  return fs.access(path).then(
    () => true,
    () => false,
  );
}

function text(t: Text): string {
  return typeof t === 'string' ? t : t.toString('utf8');
}

/** The platform, or the original decoder's default for a blob without one. */
function platformOf(run: ExecRun): string {
  return run.job.platform === null ? NO_PLATFORM : text(run.job.platform);
}

function outcome(run: ExecRun): string {
  const r = run.result;
  return describeOutcome(r.kind === 'failed' ? { kind: 'failed', message: text(r.message) } : r);
}

function jsonView(run: ExecRun, want: Set<string>): Record<string, unknown> {
  const job = { name: text(run.job.name), platform: platformOf(run) };
  const out: Record<string, unknown> = {
    ...job,
    run_id: run.uuid,
    started: dateOfExecTime(run.started).toISOString(),
    finished: dateOfExecTime(run.finished).toISOString(),
    outcome: run.result.kind === 'failed' ? { kind: 'failed', message: text(run.result.message) } : run.result,
    console_lines: run.console.length,
    artifacts: run.artifacts.map((a) => ({ path: text(a.path), size: a.size, ...(a.sha256 ? { sha256: a.sha256 } : {}) })),
  };
  if (want.has('console')) out.console = run.console.map((l) => ({ t: l.delta, line: text(l.line) }));
  if (want.has('script')) out.script = text(run.job.script);
  if (want.has('job')) out.job = { ...job, script: text(run.job.script), files: run.job.files.map((f) => text(f.path)) };
  return out;
}

function printView(run: ExecRun, want: Set<string>): void {
  const out: string[] = [];
  if (want.has('job')) {
    out.push(`name      ${text(run.job.name)}`, `platform  ${platformOf(run)}`);
    if (run.job.files.length) out.push(`files     ${run.job.files.map((f) => text(f.path)).join(', ')}`);
    out.push('script:', text(run.job.script).replace(/\n$/, ''));
  }
  if (want.has('script') && !want.has('job')) out.push(text(run.job.script).replace(/\n$/, ''));
  if (want.has('console')) for (const l of run.console) out.push(text(l.line));
  if (want.size === 0) {
    const started = dateOfExecTime(run.started);
    const finished = dateOfExecTime(run.finished);
    out.push(
      `job       ${text(run.job.name)}`,
      `platform  ${platformOf(run)}`,
      `run       ${run.uuid}`,
      `started   ${started.toISOString()}`,
      `finished  ${finished.toISOString()} (${((finished.getTime() - started.getTime()) / 1000).toFixed(1)} s)`,
      `outcome   ${outcome(run)}`,
      `console   ${run.console.length} line${run.console.length === 1 ? '' : 's'}`,
      paint.bold(`artifacts (${run.artifacts.length})`),
      ...run.artifacts.map((a) => `  ${String(a.size).padStart(12)}  ${a.sha256 ?? '(no sha256 recorded)'.padEnd(64)}  ${text(a.path)}`),
    );
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}

async function writeArtifacts(run: ExecRun, dir: string, json: boolean): Promise<void> {
  const written: { path: string; size: number }[] = [];
  for (const a of run.artifacts) {
    let rel: string;
    try {
      rel = confineArtifactPath(text(a.path));
    } catch (e) {
      throw new BuilderError('bad_artifact_path', `${reason(e)}; nothing past it was written`);
    }
    const file = join(dir, rel);
    await fs.mkdir(dirname(file), { recursive: true });
    try {
      await pipeline(a.open(), createWriteStream(file, { flags: 'wx', mode: 0o644 }));
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'EEXIST' ? 'already exists (use an empty --output DIR)' : reason(e);
      throw new BuilderError('write_failed', `cannot write ${file}: ${why}`);
    }
    written.push({ path: rel, size: a.size });
  }
  if (json) printJson({ ok: true, dir, artifacts: written });
  else console.log(`wrote ${written.length} artifact${written.length === 1 ? '' : 's'} under ${dir}`);
}
