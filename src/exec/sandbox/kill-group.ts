/** Signals a process group (a job started detached leads its own); a group already gone is no error. */
export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // The group is already gone.
  }
}
