import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

// The layers of src/ as import rules, checked on the source text: every
// relative import (type-only ones too: a cycle of types is still a tangle)
// is an edge of the graph.

const SRC = resolve(import.meta.dirname, '..', '..', '..', '..', 'src');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** file (relative to src/, .ts) -> the src files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s+'(\.[^']+)'/g)) {
      deps.push(relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    }
    for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) deps.push(relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
    graph.set(relative(SRC, file), deps);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the list of files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') found.push([...path.slice(path.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return found;
}

/** What a folder of src/ must never import (by path prefix). */
const FORBIDDEN: [from: string, never: string[]][] = [
  ['shared/', ['protocol/', 'spool/', 'schedule/', 'exec/', 'upload/', 'server/', 'worker/', 'client/']],
  ['protocol/', ['server/', 'worker/', 'client/', 'spool/', 'exec/']],
  ['spool/', ['server/', 'worker/', 'client/']],
  ['schedule/', ['server/', 'worker/', 'client/']],
  ['exec/', ['server/', 'worker/', 'client/']],
  ['upload/', ['server/', 'worker/', 'client/']],
  ['server/core/', ['server/http/', 'server/sessions/', 'server/uploads/', 'server/server.ts', 'server/main.ts']],
  // The original protocol's codec and the state-file mapping are pure; only its sessions and commands reach the server.
  ['compat/cmd', ['server/', 'worker/', 'client/', 'spool/', 'compat/compat-']],
  ['compat/state-codec.ts', ['server/', 'worker/', 'client/', 'spool/']],
  ['compat/import-state.ts', ['server/', 'worker/', 'client/', 'spool/spool.ts']],
];

test('src/ has no import cycle', () => {
  const found = cycles(importGraph());
  assert.deepEqual(found.map((c) => c.join(' -> ')), []);
});

test('no layer of src/ imports a layer above it', () => {
  const bad: string[] = [];
  for (const [file, deps] of importGraph()) {
    for (const [from, never] of FORBIDDEN) {
      if (!file.startsWith(from)) continue;
      for (const d of deps) if (never.some((n) => d.startsWith(n))) bad.push(`${file} imports ${d}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the import walk sees imports (it can fail)', () => {
  const graph = importGraph();
  assert.ok(graph.get('server/core/scheduler.ts')?.includes('schedule/next-run.ts'), 'scheduler.ts imports schedule/next-run.ts');
  assert.deepEqual(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']]])), [['a.ts', 'b.ts', 'a.ts']]);
});
