import type net from 'node:net';
import { log } from '../shared/log.js';
import { Spool } from '../spool/spool.js';
import { startHttp } from './http/http-server.js';
import { loadState } from './core/load.js';
import { listen } from './sessions/listener.js';
import { startScheduler, tick } from './core/scheduler.js';
import { ServerState } from './core/state.js';
import type { ServerConfig } from './config/server-config.js';
import { freezeRuns } from './core/runs.js';
import { keepNewestResults } from './core/retention.js';
import { countStoredRuns } from './http/metrics.js';
import { NO_UPLOAD, startUploads } from './uploads/upload.js';
import { watchSpool } from './core/watch.js';
import { loadGroups, recordBuilds } from './core/verify.js';
import { listenCompat } from '../compat/compat-listener.js';

/** A started server: its bound address and a clean stop. */
export interface RunningServer {
  state: ServerState<ServerConfig>;
  address: { ip: string; port: number };
  /** The status page's address when --http is on. */
  http: { ip: string; port: number } | null;
  /** The original protocol's address when --compat-port is on. */
  compat: { ip: string; port: number } | null;
  stop(): Promise<void>;
}

/**
 * Starts a server, in this order, so that a start that cannot work changes
 * nothing and leaves nothing open:
 *   1. lock the spool (a second server on it stops here, see spool/lock.ts);
 *   2. listen (TCP, the local socket, the compat port, the status page): connections wait unread;
 *   3. sweep tmp/, watch the spool, load it and recover running/;
 *   4. resume uploads, serve the waiting connections, start the schedule.
 * A failure at any step closes what the steps before opened (in reverse) and
 * releases the lock before the error goes up.
 */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const { spool, lock } = await Spool.lock(config.dir);
  const undo: (() => unknown)[] = [() => lock.release()];
  let ready!: () => void;
  let notReady!: (e: Error) => void;
  const serving = new Promise<void>((resolve, reject) => ((ready = resolve), (notReady = reject)));
  serving.catch(() => undefined);
  try {
    const state = new ServerState(spool, config);
    // Subscribers of the core's events (uploads subscribe in startUploads).
    keepNewestResults(state);
    countStoredRuns(state);
    recordBuilds(state);
    const listener = await listen(state, serving);
    undo.push(() => listener.close());
    const addr = listener.tcp.address() as net.AddressInfo;
    const compat = config.compatPort != null ? await listenCompat(state, config.compatPort, serving) : null;
    undo.push(() => compat?.close());
    const compatAddr = compat ? (compat.address() as net.AddressInfo) : null;
    const status = config.http ? await startHttp(state, config.http, () => listener.tcp.listening) : null;
    undo.push(() => status?.close());
    await spool.prepare();
    // Watching starts before loading, so no hand edit falls between the two; changes wait for the load.
    let loaded!: () => void;
    const stopWatch = watchSpool(state, new Promise<void>((r) => (loaded = r)));
    undo.push(stopWatch);
    await loadState(state);
    await loadGroups(state);
    loaded();
    const stopUploads = await startUploads(state, config.upload ?? NO_UPLOAD);
    undo.push(stopUploads);
    ready();
    await tick(state);
    const stopScheduler = startScheduler(state);
    return {
      state,
      address: { ip: addr.address, port: addr.port },
      http: status?.address ?? null,
      compat: compatAddr ? { ip: compatAddr.address, port: compatAddr.port } : null,
      async stop() {
        state.stopping = true;
        stopScheduler();
        stopWatch();
        stopUploads();
        listener.close();
        compat?.close();
        await status?.close();
        // Runs in progress stay in running/: the next start requeues them.
        for (const w of state.workers.values()) w.link.drop();
        freezeRuns(state);
        await lock.release();
        log('info', 'stopped');
      },
    };
  } catch (e) {
    notReady(e as Error);
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => undefined);
    throw e;
  }
}
