// Pure: which worker may take one build of a verify group, given who builds
// the group's other members. Builds go to different hosts when the platform
// has workers on more than one, else at least to different worker processes.

/** A worker as the rule sees it: its host, and its process (the hello's instance, or its connection id). */
export interface Builder {
  host: string;
  process: string;
}

/**
 * Whether `candidate` may build a member while `others` build (or built) the
 * group's other members: never a process already used; a host already used
 * only when no worker of the platform (`hosts`: the hosts of its connected
 * workers) is on a host the group has not used yet.
 */
export function mayBuild(others: readonly Builder[], candidate: Builder, hosts: Iterable<string>): boolean {
  if (others.some((b) => b.process === candidate.process)) return false;
  const used = new Set(others.map((b) => b.host));
  if (!used.has(candidate.host)) return true;
  for (const h of hosts) if (!used.has(h)) return false;
  return true;
}
