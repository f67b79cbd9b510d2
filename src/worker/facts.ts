import os from 'node:os';
import type { WorkerFacts } from '../protocol/types.js';
import { VERSION } from '../shared/version.js';

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
  };
}
