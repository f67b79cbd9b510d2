import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { BuilderError } from '../shared/errors.js';

/**
 * Normalises an artifact path sent by a worker and refuses anything that
 * could leave the run's directory: absolute paths, `..`, empty segments,
 * NUL bytes, backslashes. Returns the clean relative path.
 */
export function confineArtifactPath(p: string): string {
  const refuse = (why: string): never => {
    throw new BuilderError('bad_artifact_path', `artifact path ${JSON.stringify(p.slice(0, 200))} refused: ${why}`);
  };
  if (p.length === 0) refuse('empty');
  if (p.length > 1024) refuse('longer than 1024 characters');
  if (p.includes('\0')) refuse('contains a NUL byte');
  if (p.includes('\\')) refuse('contains a backslash');
  if (p.startsWith('/')) refuse('absolute');
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0) refuse('names no file');
  if (parts.some((s) => s === '..')) refuse('contains ".."');
  if (parts.length > 32) refuse('nested deeper than 32 directories');
  return parts.join('/');
}

/**
 * Creates the directories of a confined relative path under `base`, one
 * component at a time, refusing any component that already exists as a
 * symbolic link or a non-directory: a link planted in a run's directory
 * cannot redirect a write outside it. (The file itself is opened with
 * O_EXCL, which never follows a link.)
 */
export async function mkdirConfined(base: string, rel: string): Promise<void> {
  await fs.mkdir(base, { recursive: true });
  if ((await fs.lstat(base)).isSymbolicLink()) throw new BuilderError('bad_artifact_path', `${base} is a symbolic link: artifacts are not written through it`);
  const dirs = rel.split('/').slice(0, -1);
  let at = base;
  for (const d of dirs) {
    at = join(at, d);
    const st = await fs.lstat(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (st === null) await fs.mkdir(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
    else if (st.isSymbolicLink()) throw new BuilderError('bad_artifact_path', `artifact path ${JSON.stringify(rel)} refused: ${d} is a symbolic link`);
    else if (!st.isDirectory()) throw new BuilderError('bad_artifact_path', `artifact path ${JSON.stringify(rel)} refused: ${d} is not a directory`);
  }
}
