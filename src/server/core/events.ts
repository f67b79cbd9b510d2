import type { Outcome } from '../../protocol/types.js';
import { reason } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { ResultRecord } from '../../spool/records.js';
import type { Run } from './run-phase.js';
import type { WorkerPeer } from './worker-peer.js';

/**
 * What the core tells the rest of the server. The lifecycle emits these and
 * never calls metrics, uploads, retention, observers or the status page
 * itself: they subscribe. `final` is false for an attempt that was requeued.
 */
export interface CoreEvents {
  worker_connected: { worker: WorkerPeer };
  worker_lost: { worker: WorkerPeer; why: string };
  run_started: { run: Run };
  /** New console lines of a run are on disk (observers read the file). */
  run_output: { runId: string };
  /** Awaited before the result is stored (an upload's outbox record is written first). */
  run_storing: { result: ResultRecord; final: boolean };
  /** Awaited after the result is in results/ (`where`). */
  run_stored: { result: ResultRecord; where: string; final: boolean };
  /** The run left the running table: stored (`outcome`), or not (null: left for the next start, or storing failed). */
  run_ended: { runId: string; outcome: Outcome | null };
}

type Listener<P> = (payload: P) => void | Promise<void>;

/**
 * A small typed emitter. Listeners run in the order they subscribed; one
 * that throws (or rejects) is logged and never stops the others nor the
 * lifecycle that emitted.
 */
export class Emitter<E extends { [K in keyof E]: unknown }> {
  private readonly listeners = new Map<keyof E, Listener<never>[]>();

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof E>(name: K, fn: Listener<E[K]>): () => void {
    const list = (this.listeners.get(name) ?? []) as Listener<E[K]>[];
    this.listeners.set(name, [...list, fn] as Listener<never>[]);
    return () => {
      const now = (this.listeners.get(name) ?? []) as Listener<E[K]>[];
      this.listeners.set(name, now.filter((f) => f !== fn) as Listener<never>[]);
    };
  }

  /** Calls every listener; does not wait for asynchronous ones. */
  emit<K extends keyof E>(name: K, payload: E[K]): void {
    for (const fn of (this.listeners.get(name) ?? []) as Listener<E[K]>[]) {
      try {
        const r = fn(payload);
        if (r) r.catch((e: unknown) => log('error', `${String(name)} listener: ${reason(e)}`));
      } catch (e) {
        log('error', `${String(name)} listener: ${reason(e)}`);
      }
    }
  }

  /** Calls every listener in turn and waits for each. */
  async emitAndWait<K extends keyof E>(name: K, payload: E[K]): Promise<void> {
    for (const fn of (this.listeners.get(name) ?? []) as Listener<E[K]>[]) {
      try {
        await fn(payload);
      } catch (e) {
        log('error', `${String(name)} listener: ${reason(e)}`);
      }
    }
  }
}
