import type { ArtifactInfo } from '../protocol/types.js';

// Pure: lines up the artifact lists of several runs of one job by path and
// says, per path, whether they agree. The console is never compared: only
// artifact paths, sizes and SHA-256 hashes.

/** How one path compares across the runs. */
export type PathStatus = 'same' | 'different' | 'missing' | 'unknown';

/** One artifact path across the runs: its size and sha256 in each (null where the run lacks it). */
export interface PathComparison {
  path: string;
  status: PathStatus;
  sizes: (number | null)[];
  sha256: (string | null)[];
}

/**
 * Compares artifact lists path by path, sorted by path: `missing` when some
 * run lacks the path, `different` when sizes or hashes disagree, `unknown`
 * when sizes agree but a run recorded no hash (stored before hashes were
 * kept), `same` otherwise.
 */
export function compareArtifacts(lists: readonly (readonly ArtifactInfo[])[]): PathComparison[] {
  const maps = lists.map((l) => new Map(l.map((a) => [a.path, a])));
  const paths = [...new Set(lists.flatMap((l) => l.map((a) => a.path)))].sort();
  return paths.map((path) => {
    const found = maps.map((m) => m.get(path) ?? null);
    const sizes = found.map((a) => a?.size ?? null);
    const sha256 = found.map((a) => a?.sha256 ?? null);
    let status: PathStatus;
    if (found.some((a) => a === null)) status = 'missing';
    else if (new Set(sizes).size > 1) status = 'different';
    else if (sha256.some((h) => h === null)) status = 'unknown';
    else status = new Set(sha256).size > 1 ? 'different' : 'same';
    return { path, status, sizes, sha256 };
  });
}

/** Why a path that is not `same` differs, in words (runs numbered from 1). */
export function whyDifferent(c: PathComparison): string {
  switch (c.status) {
    case 'missing': {
      const absent = c.sizes.flatMap((s, i) => (s === null ? [i + 1] : []));
      return `missing in build ${absent.join(', ')}`;
    }
    case 'different':
      return new Set(c.sizes).size > 1 ? `size differs (${c.sizes.join(' vs ')} bytes)` : 'sha256 differs';
    case 'unknown':
      return 'no sha256 recorded';
    case 'same':
      return 'same';
  }
}
