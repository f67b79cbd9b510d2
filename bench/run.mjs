// Runs the benchmarks and prints one table: each figure, the baseline
// measured in the same run, their ratio and the goal of issue 7.
//   node bench/run.mjs [--quick] [w1 w2 ...]
// Results also go to bench/results/<timestamp>.json and bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { cleanup, ROOT } from './lib.mjs';

const WORKLOADS = {
  w1: './w1-dispatch.mjs',
  w2: './w2-client.mjs',
  w3: './w3-artifacts.mjs',
  w4: './w4-observers.mjs',
  w5: './w5-scale.mjs',
  w6: './w6-restart.mjs',
  w7: './w7-status.mjs',
  w8: './w8-edges.mjs',
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const named = args.filter((a) => !a.startsWith('--')).map((a) => a.toLowerCase());
for (const n of named) if (!WORKLOADS[n]) {
  console.error(`bench: unknown workload "${n}" (known: ${Object.keys(WORKLOADS).join(' ')})`);
  process.exit(124);
}
const chosen = named.length ? named : Object.keys(WORKLOADS);

function fmt(v) {
  if (v === null || v === undefined) return '-';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function table(rows) {
  const head = ['', 'metric', 'value', 'unit', 'baseline', 'ratio', 'goal', 'ok', 'baseline is / note'];
  const body = rows.map((r) => [
    r.workload,
    r.metric,
    fmt(r.value),
    r.unit,
    fmt(r.baseline),
    r.ratio === null ? '-' : `${fmt(r.ratio)}x`,
    r.goal || '-',
    r.met === null ? '' : r.met ? 'yes' : 'NO',
    [r.baseline_label, r.note].filter(Boolean).join('; '),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => (i >= 2 && i <= 5 ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

const started = new Date();
const rows = [];
const errors = [];
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
for (const name of chosen) {
  const t0 = Date.now();
  process.stderr.write(`bench: ${name}${quick ? ' (quick)' : ''}...\n`);
  try {
    const mod = await import(WORKLOADS[name]);
    rows.push(...(await mod.run({ quick })));
  } catch (e) {
    errors.push({ workload: name, error: String(e?.stack ?? e) });
    rows.push({ workload: name.toUpperCase(), metric: 'FAILED', value: null, unit: '', baseline: null, baseline_label: '', ratio: null, goal: '', met: false, note: String(e?.message ?? e).slice(0, 200) });
    process.stderr.write(`bench: ${name} failed: ${e?.stack ?? e}\n`);
  } finally {
    await cleanup();
  }
  process.stderr.write(`bench: ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

console.log(table(rows));
const report = {
  version: 1,
  started: started.toISOString(),
  seconds: (Date.now() - started.getTime()) / 1000,
  quick,
  workloads: chosen,
  host: { node: process.version, platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', memory_mb: Math.round(os.totalmem() / 2 ** 20) },
  rows,
  errors,
};
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const text = JSON.stringify(report, null, 2) + '\n';
const stamp = started.toISOString().replace(/[:.]/g, '-');
writeFileSync(join(dir, `${stamp}${quick ? '-quick' : ''}.json`), text);
writeFileSync(join(dir, 'latest.json'), text);
console.log(`\nwritten: bench/results/${stamp}${quick ? '-quick' : ''}.json and bench/results/latest.json (${report.seconds.toFixed(0)} s)`);
process.exitCode = errors.length ? 1 : 0;
