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
import { indexStoredRuns, resultIndex } from './core/stored-results.js';
import { countStoredRuns } from './http/metrics.js';
import { NO_UPLOAD, startUploads } from './uploads/upload.js';
import { watchSpool } from './core/watch.js';
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

/** Opens the spool, recovers it, listens and starts the schedule. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const spool = await Spool.open(config.dir);
  const state = new ServerState(spool, config);
  // Subscribers of the core's events (uploads subscribe in startUploads).
  indexStoredRuns(state);
  keepNewestResults(state);
  countStoredRuns(state);
  // Watching starts before loading, so no hand edit falls between the two; changes wait for the load.
  let loaded!: () => void;
  const stopWatch = watchSpool(state, new Promise<void>((r) => (loaded = r)));
  try {
    await loadState(state);
  } catch (e) {
    stopWatch();
    throw e;
  }
  loaded();
  // Opened now (not at the first `results`), so that reading a big index does not delay a client.
  void resultIndex(state);
  const stopUploads = await startUploads(state, config.upload ?? NO_UPLOAD);
  const listener = await listen(state);
  const addr = listener.tcp.address() as net.AddressInfo;
  const compat = config.compatPort != null
    ? await listenCompat(state, config.compatPort).catch((e) => {
        // A compat port that cannot be opened stops the start, as the main port does.
        stopUploads();
        stopWatch();
        listener.close();
        throw e;
      })
    : null;
  await tick(state);
  const stopScheduler = startScheduler(state);
  const status = config.http
    ? await startHttp(state, config.http, () => listener.tcp.listening).catch((e) => {
        // Nothing may keep the process alive when it cannot start.
        stopScheduler();
        stopWatch();
        listener.close();
        compat?.close();
        throw e;
      })
    : null;
  return {
    state,
    address: { ip: addr.address, port: addr.port },
    http: status?.address ?? null,
    compat: compat ? { ip: (compat.address() as net.AddressInfo).address, port: (compat.address() as net.AddressInfo).port } : null,
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
      log('info', 'stopped');
    },
  };
}
