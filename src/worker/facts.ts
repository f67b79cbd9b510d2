import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { WorkerFacts } from '../protocol/types.js';
import { VERSION } from '../shared/version.js';

// One id per worker process, the same on every reconnect: verify groups use it to build on different processes.
const INSTANCE = randomBytes(8).toString('hex');

/** What this worker tells the server about itself in its hello. */
export function workerFacts(platform: string): WorkerFacts {
  return {
    platform,
    hostname: os.hostname(),
    os: os.type(),
    release: os.release(),
    arch: os.arch(),
    cpus: os.cpus().length,
    memory: os.totalmem(),
    version: VERSION,
    instance: INSTANCE,
  };
}
