// The in-memory mirror of queue/<platform>/: file names in queue order and
// the job name each holds, plus the jobs taken off a queue whose claim is in
// progress. The spool stays the truth; `reconcile` makes the mirror agree
// with a fresh directory listing after a hand edit. Only queue.ts changes it.

/** One queued job as the server tracks it; `queued` and `retries` once known (written by us, or read for info). */
export interface Queued {
  file: string;
  name: string;
  queued?: string;
  retries?: number;
  /** Set for one build of a verify group (its queue file name says which). */
  group?: { id: string; index: number };
}

function indexOf(list: Queued[], file: string): { found: boolean; at: number } {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.file < file) lo = mid + 1;
    else hi = mid;
  }
  return { found: lo < list.length && list[lo]!.file === file, at: lo };
}

/** Per-platform FIFO queues in file-name order. */
export class Queues {
  private byPlatform = new Map<string, Queued[]>();
  /** `platform/name` of jobs taken off a queue whose claim is in progress, with how many (the builds of a verify group share a name). */
  private readonly claiming = new Map<string, number>();

  /** Whether a job of this name is being claimed on the platform (neither queued nor running yet). */
  isClaiming(platform: string, name: string): boolean {
    return this.claiming.has(`${platform}/${name}`);
  }

  /** Marks (or unmarks) one claim of a job in progress. */
  setClaiming(platform: string, name: string, on: boolean): void {
    const key = `${platform}/${name}`;
    const n = (this.claiming.get(key) ?? 0) + (on ? 1 : -1);
    if (n > 0) this.claiming.set(key, n);
    else this.claiming.delete(key);
  }

  /** Platforms that have (or had) a queue. */
  platforms(): string[] {
    return [...this.byPlatform.keys()].sort();
  }

  /** The queue of one platform, in order (do not mutate). */
  list(platform: string): readonly Queued[] {
    return this.byPlatform.get(platform) ?? [];
  }

  /** Total queued jobs. */
  size(): number {
    let n = 0;
    for (const q of this.byPlatform.values()) n += q.length;
    return n;
  }

  /** Whether a job of this name waits on the platform's queue. */
  has(platform: string, name: string): boolean {
    return this.list(platform).some((q) => q.name === name);
  }

  /** Whether build `index` of verify group `id` waits on the platform's queue. */
  hasMember(platform: string, id: string, index: number): boolean {
    return this.list(platform).some((q) => q.group?.id === id && q.group.index === index);
  }

  /** Whether this file is in the platform's queue. */
  hasFile(platform: string, file: string): boolean {
    return indexOf(this.list(platform) as Queued[], file).found;
  }

  /** Adds an entry (idempotent). */
  add(platform: string, q: Queued): void {
    let list = this.byPlatform.get(platform);
    if (!list) this.byPlatform.set(platform, (list = []));
    const { found, at } = indexOf(list, q.file);
    if (!found) list.splice(at, 0, q);
  }

  /** Removes an entry (idempotent). */
  remove(platform: string, file: string): void {
    const list = this.byPlatform.get(platform);
    if (!list) return;
    const { found, at } = indexOf(list, file);
    if (found) list.splice(at, 1);
  }

  /** Removes a whole platform's queue from memory. */
  clear(platform: string): void {
    this.byPlatform.delete(platform);
  }

  /** Makes the mirror match a listing: returns the files that are new (their names must be resolved by the caller). */
  reconcile(platform: string, files: string[]): { added: string[]; removed: number } {
    const now = new Set(files);
    const list = this.byPlatform.get(platform) ?? [];
    const kept = list.filter((q) => now.has(q.file));
    const known = new Set(kept.map((q) => q.file));
    this.byPlatform.set(platform, kept);
    return { added: files.filter((f) => !known.has(f)), removed: list.length - kept.length };
  }
}
