import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// What a test job leaves outside its work dir so the test can wait on the job
// itself: a `starts` file (a line per start, with its pid) and a `progress`
// file (the last line number printed). Shared by the restart tests.

/** The non-empty lines of `file`; none when it does not exist (yet). */
export function fileLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

/** The last line number a ticking job in `out` has printed (0 before the first). */
export function progress(out: string): number {
  return Number(fileLines(join(out, 'progress'))[0] ?? 0);
}

/**
 * A job printing `line 1` … `line N`, one every `pause` seconds, writing each
 * number to OUT/progress; with `start`, it first appends `START $$` to
 * OUT/starts; `tail` is shell run after the last line.
 */
export function tickingJob(out: string, opts: { lines: number; pause: string; start?: string; tail?: string }): string {
  return `#!/bin/sh
${opts.start === undefined ? '' : `echo "${opts.start} $$" >> ${out}/starts\n`}i=1
while [ $i -le ${opts.lines} ]; do
  echo "line $i"
  echo $i > ${out}/progress
  i=$((i+1))
  sleep ${opts.pause}
done
${opts.tail ?? ''}`;
}
