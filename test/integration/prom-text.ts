// A strict reader of the Prometheus text exposition format (0.0.4), for
// tests: it throws, naming the line, on anything the format does not allow
// or that breaks its rules for counters and histograms.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | null;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'] as const;

function parseValue(s: string, where: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: bad value "${s}"`);
  return Number(s);
}

function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    while (text[i] === ' ') i++;
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const m = /^[^=\s]*/.exec(text.slice(i))![0];
    if (!LABEL.test(m) || m.startsWith('__')) throw new Error(`${where}: bad label name "${m}"`);
    if (m in labels) throw new Error(`${where}: label ${m} given twice`);
    i += m.length;
    if (text.slice(i, i + 2) !== '="') throw new Error(`${where}: label ${m} needs ="value"`);
    i += 2;
    let v = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\' || e === '"') v += e;
        else if (e === 'n') v += '\n';
        else throw new Error(`${where}: bad escape \\${e ?? ''} in a label value`);
        i += 2;
      } else {
        v += c;
        i++;
      }
    }
    labels[m] = v;
    i++;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected , or } after label ${m}`);
  }
}

function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
    }
  }
  return families.get(name);
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(s);
  }
  for (const [key, ss] of groups) {
    const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
    const count = ss.find((s) => s.name === `${f.name}_count`);
    const sum = ss.find((s) => s.name === `${f.name}_sum`);
    if (!count || !sum) throw new Error(`histogram ${f.name}${key}: needs _sum and _count`);
    if (ss.some((s) => s.name !== `${f.name}_bucket` && 'le' in s.labels)) throw new Error(`histogram ${f.name}: le only on _bucket`);
    const les = buckets.map((b) => {
      if (!('le' in b.labels)) throw new Error(`histogram ${f.name}: a _bucket without le`);
      return parseValue(b.labels.le!, `${f.name} le`);
    });
    if (les[les.length - 1] !== Infinity) throw new Error(`histogram ${f.name}${key}: the last bucket must be le="+Inf"`);
    for (let i = 1; i < buckets.length; i++) {
      if (!(les[i]! > les[i - 1]!)) throw new Error(`histogram ${f.name}: le must increase`);
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`histogram ${f.name}: buckets must be cumulative`);
    }
    if (buckets[buckets.length - 1]!.value !== count.value) throw new Error(`histogram ${f.name}${key}: le="+Inf" bucket differs from _count`);
  }
}

/** Parses and checks an exposition; throws with the line number on the first violation. */
export function parsePromText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: Family | null = null;
  const declare = (name: string, where: string): Family => {
    if (!METRIC.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: null, samples: [] }));
    return f;
  };
  const enter = (f: Family, where: string) => {
    if (current === f) return;
    if (current) closed.add(current.name);
    if (closed.has(f.name)) throw new Error(`${where}: lines of ${f.name} are not together`);
    current = f;
  };
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.trim() === '') return;
    const meta = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const f = declare(meta[2]!, where);
      enter(f, where);
      if (meta[1] === 'HELP') {
        if (f.help !== null) throw new Error(`${where}: second HELP for ${f.name}`);
        if (/\\[^\\n]/.test(meta[3] ?? '')) throw new Error(`${where}: bad escape in HELP`);
        f.help = meta[3] ?? '';
      } else {
        if (f.samples.length > 0) throw new Error(`${where}: TYPE of ${f.name} after its samples`);
        if ((f as { typed?: boolean }).typed) throw new Error(`${where}: second TYPE for ${f.name}`);
        if (!TYPES.includes(meta[3] as Family['type'])) throw new Error(`${where}: unknown type "${meta[3]}"`);
        f.type = meta[3] as Family['type'];
        (f as { typed?: boolean }).typed = true;
      }
      return;
    }
    if (line.startsWith('#')) return;
    const name = /^[^{\s]*/.exec(line)![0];
    if (!METRIC.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`${where}: expected "name{labels} value [timestamp]"`);
    const value = parseValue(parts[0]!, where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const f = familyOf(families, name) ?? declare(name, where);
    enter(f, where);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    series.add(key);
    if (f.type === 'counter') {
      if (!name.endsWith('_total')) throw new Error(`${where}: counter ${name} should end in _total`);
      if (!(value >= 0)) throw new Error(`${where}: counter ${name} is negative`);
    }
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** One sample's value (undefined when absent). */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const f of families.values()) for (const s of f.samples) if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want) return s.value;
  return undefined;
}

/** Every sample that may only grow: counters, and histogram buckets, sums and counts. */
export function monotonicSamples(families: Map<string, Family>): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of families.values()) {
    if (f.type !== 'counter' && f.type !== 'histogram') continue;
    for (const s of f.samples) out.set(s.name + JSON.stringify(Object.entries(s.labels).sort()), s.value);
  }
  return out;
}
