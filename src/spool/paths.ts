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
