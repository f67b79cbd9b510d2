import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Job } from '../../../src/protocol/types.js';
import { DEFAULT_LIMITS } from '../../../src/server/core/limits.js';
import { ServerState, type CoreConfig, type WorkerLink, type WorkerPeer } from '../../../src/server/core/state.js';
import { Spool } from '../../../src/spool/spool.js';

// The server core on a real spool in a temp dir, with no socket and no
// process: a TestLink stands where a worker session would be and records
// what the core asked of it.

/** A worker's end of the core, as its session would implement it, recording every call. */
export class TestLink implements WorkerLink {
  isClosed = false;
  readonly jobs: { runId: string; job: Job }[] = [];
  readonly cancels: { runId: string; why: string }[] = [];
  refused: { message: string; code: string } | null = null;

  sendJob(runId: string, job: Job): Promise<void> {
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    this.jobs.push({ runId, job });
    return Promise.resolve();
  }
  sendResume(): Promise<void> {
    return this.isClosed ? Promise.reject(new Error('connection closed')) : Promise.resolve();
  }
  sendCancel(runId: string, why: string): void {
    this.cancels.push({ runId, why });
  }
  refuse(message: string, code: string): void {
    this.refused = { message, code };
    this.isClosed = true;
  }
  drop(): void {
    this.isClosed = true;
  }
}

/** A fresh core with its own spool; `seen` lists every event it emitted, by name. */
export async function freshCore(overrides: Partial<CoreConfig> = {}, dir = mkdtempSync(join(os.tmpdir(), 'core-unit-'))) {
  const spool = await Spool.open(dir);
  const config: CoreConfig = { dir, configDir: dir, heartbeatMs: 10_000, retries: 2, killGraceS: 10, keep: 0, limits: DEFAULT_LIMITS, reattachGraceMs: 0, ...overrides };
  const state = new ServerState(spool, config);
  const seen: string[] = [];
  for (const name of ['worker_connected', 'worker_lost', 'run_started', 'run_storing', 'run_stored', 'run_ended'] as const) state.events.on(name, () => void seen.push(name));
  return { state, spool, seen, dir };
}

let n = 0;
/** A worker peer for `platform` with a TestLink. */
export function testWorker(platform: string): WorkerPeer & { link: TestLink } {
  n++;
  const facts = { platform, hostname: `host-${n}`, os: 'Linux', release: '6', arch: 'x64', cpus: 2, memory: 1, version: 'test' };
  return { id: `w${n}`, link: new TestLink(), peer: `127.0.0.1:${1000 + n}`, facts, since: new Date().toISOString(), runId: null, waiting: false };
}

/** A job for `platform`. */
export function testJob(name: string, platform = 'p-1', timeout_s = 3600): Job {
  return { name, platform, script: '#!/bin/sh\necho hi\n', timeout_s };
}

/** Polls `check` every event-loop turn until it holds; fails after `ms`. */
export async function until<T>(what: string, check: () => T | Promise<T>, ms = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
