import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GroupMember, GroupRecord } from '../../../src/spool/groups.js';
import { parseGroupRecord } from '../../../src/spool/groups.js';
import { compareArtifacts, whyDifferent } from '../../../src/verify/compare-artifacts.js';
import { decideGroup, distinctOf, settleMember } from '../../../src/verify/group-outcome.js';
import { mayBuild } from '../../../src/verify/pick-builder.js';

const H = (c: string) => c.repeat(64);
const art = (path: string, sha: string | undefined, size = 3) => ({ path, size, mode: 0o644, ...(sha ? { sha256: sha } : {}) });
const ok = { kind: 'exited' as const, code: 0 };

function member(index: number, artifacts = [art('a', H('1'))], host = `h${index}`, outcome: GroupMember['outcome'] = ok): GroupMember {
  return { index, run_id: `run-${index}`, worker: { id: `w${index}`, hostname: host, instance: `i${index}` }, outcome, finished: '2026-12-01T00:00:00.000Z', artifacts };
}

function building(n = 2): GroupRecord {
  return {
    version: 1,
    group_id: '11111111-2222-4333-8444-555555555555',
    job: 'j',
    platform: 'p',
    builds: n,
    created: '2026-12-01T00:00:00.000Z',
    script_sha256: H('0'),
    members: Array.from({ length: n }, (_, i) => ({ index: i + 1, run_id: null, worker: null, outcome: null, finished: null, artifacts: [] })),
    phase: 'building',
    outcome: null,
    decided: null,
    distinct: null,
  };
}

test('artifacts compare by path: same, different hash or size, missing, unknown without a recorded hash', () => {
  const got = compareArtifacts([
    [art('same', H('a')), art('hash', H('b')), art('size', H('c'), 3), art('only-a', H('d')), art('old', undefined)],
    [art('same', H('a')), art('hash', H('e')), art('size', H('c'), 4), art('old', H('f'))],
  ]);
  assert.deepEqual(
    got.map((c) => [c.path, c.status, whyDifferent(c)]),
    [
      ['hash', 'different', 'sha256 differs'],
      ['old', 'unknown', 'no sha256 recorded'],
      ['only-a', 'missing', 'missing in build 2'],
      ['same', 'same', 'same'],
      ['size', 'different', 'size differs (3 vs 4 bytes)'],
    ],
  );
});

test('a group is reproducible when every build left the same artifacts, differs naming the paths, incomplete when a build failed', () => {
  assert.deepEqual(decideGroup([member(1), member(2)]), { kind: 'reproducible' });
  assert.deepEqual(decideGroup([member(1), member(2, [art('a', H('2')), art('b', H('3'))])]), {
    kind: 'differs',
    paths: [
      { path: 'a', why: 'sha256 differs' },
      { path: 'b', why: 'missing in build 1' },
    ],
  });
  const failed = decideGroup([member(1), member(2, [], 'h2', { kind: 'exited', code: 2 })]);
  assert.equal(failed.kind, 'incomplete');
  assert.match((failed as { message: string }).message, /build 2 \(run-2\) exited 2/);
});

test('the builders were different hosts, or only different worker processes on one host', () => {
  assert.equal(distinctOf([member(1), member(2)]), 'hosts');
  assert.equal(distinctOf([member(1, undefined, 'same'), member(2, undefined, 'same')]), 'workers');
});

test('settling members is a checked transition: building until the last build, then decided and never changed', () => {
  const now = new Date('2026-12-01T01:00:00.000Z');
  const one = settleMember(building(), member(1), now)!;
  assert.equal(one.phase, 'building');
  assert.equal(settleMember(one, member(1), now), null, 'a member with an outcome is not recorded twice');
  const two = settleMember(one, member(2), now)!;
  assert.equal(two.phase, 'decided');
  assert.deepEqual(two.outcome, { kind: 'reproducible' });
  assert.equal(two.decided, now.toISOString());
  assert.equal(settleMember(two, member(2), now), null, 'a decided group is never changed');
});

test('a build goes to another process, and to another host while the platform has a worker on one', () => {
  const others = [{ host: 'h1', process: 'p1' }];
  assert.equal(mayBuild(others, { host: 'h1', process: 'p1' }, ['h1']), false, 'never the same process');
  assert.equal(mayBuild(others, { host: 'h1', process: 'p2' }, ['h1']), true, 'one host only: another process will do');
  assert.equal(mayBuild(others, { host: 'h1', process: 'p2' }, ['h1', 'h2']), false, 'a worker on another host exists: wait for it');
  assert.equal(mayBuild(others, { host: 'h2', process: 'p3' }, ['h1', 'h2']), true);
  assert.equal(mayBuild([], { host: 'h1', process: 'p1' }, ['h1']), true, 'the first build goes anywhere');
});

test('group records round-trip through their parser; a bad one is refused naming the field', () => {
  const g = settleMember(settleMember(building(), member(1), new Date())!, member(2, [art('a', H('9'))]), new Date())!;
  assert.deepEqual(parseGroupRecord(JSON.stringify(g), 'g.json'), g);
  assert.throws(() => parseGroupRecord(JSON.stringify({ ...g, members: [] }), 'g.json'), /members must list 2 builds/);
  assert.throws(() => parseGroupRecord(JSON.stringify({ ...g, version: 2 }), 'g.json'), /unknown version/);
});
