import { mayBuild, type Builder } from '../../verify/pick-builder.js';
import type { Queued } from './queue-mirror.js';
import type { ServerState, WorkerPeer } from './state.js';
import { builderOf, noteBuilder, verifyOf } from './verify-state.js';

/**
 * The next pairing of a waiting worker with a queue entry of `platform`: the
 * head for the first waiting worker, except that a verify build goes only to
 * a worker that may build it; an entry no waiting worker may build is passed
 * over, so it never holds up the jobs behind it. Notes who builds a member.
 */
export function pickPair(state: ServerState, platform: string): { worker: WorkerPeer; head: Queued } | null {
  // Idle workers first: a busy one asking ahead (pipelining) gets a job only when no idle worker wants it.
  const waiting = [...state.workers.values()].filter((w) => w.waiting && w.facts.platform === platform && !w.link.isClosed).sort((a, b) => Number(a.runId !== null) - Number(b.runId !== null));
  if (waiting.length === 0) return null;
  const v = verifyOf(state);
  let hosts: string[] | null = null;
  for (const head of state.queues.list(platform)) {
    if (!head.group) return { worker: waiting[0]!, head };
    const tag = head.group;
    const others = [...(v.builders.get(tag.id) ?? new Map<number, Builder>())].filter(([i]) => i !== tag.index).map(([, b]) => b);
    hosts ??= [...state.workers.values()].filter((w) => w.facts.platform === platform).map((w) => w.facts.hostname);
    const worker = waiting.find((w) => mayBuild(others, builderOf(w), hosts!));
    if (worker) {
      noteBuilder(v, tag, builderOf(worker));
      return { worker, head };
    }
  }
  return null;
}

