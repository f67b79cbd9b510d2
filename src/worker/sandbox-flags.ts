import { statSync } from 'node:fs';
import { imageFor, containerSandbox, splitFlags } from '../exec/sandbox/container.js';
import { checkSnapshot, jailSandbox } from '../exec/sandbox/jail.js';
import { resolveJobUser, type JobUser } from '../exec/sandbox/job-user.js';
import { noneSandbox } from '../exec/sandbox/none.js';
import type { Sandbox, SandboxKind } from '../exec/sandbox/sandbox.js';
import { usageError } from '../shared/cli.js';
import { log } from '../shared/log.js';

// builder-worker's sandbox flags: which driver runs the jobs and with what.

/** The flags for mri and checkFlags. */
export const SANDBOX_FLAGS = ['sandbox', 'image', 'engine-flags', 'job-user', 'jail-snapshot'];

/** Help lines for the sandbox flags. */
export const SANDBOX_HELP = `  --sandbox none|docker|podman|jail  what runs each job (default none):
                          none: on this host; as root, as --job-user; otherwise as this user
                          (only inside a throw-away jail or container: the job can read this
                          worker's token and environment); docker|podman: a fresh
                          run --rm container of --image per job; jail: a fresh jail on a ZFS
                          clone of --jail-snapshot per job (FreeBSD, as root)
  --image IMAGE           docker/podman image (default $BUILDER_WORKER_IMAGE, else from
                          PLATFORM: debian-12 -> debian:12)
  --engine-flags 'WORDS'  extra words for docker/podman run (e.g. --memory 8g --network none),
                          or extra jail(8) parameters (e.g. ip4.addr=lo1|127.0.2.10)
  --job-user USER         none as root: the user (or UID[:GID]) jobs run as (default builder-job
                          if it exists, else nobody); root: run jobs as root (a throw-away
                          sandbox only). Give each worker on a host its own user
  --jail-snapshot POOL/DATASET@SNAP  jail: the FreeBSD userland cloned per job`;

/**
 * Joins `--engine-flags WORDS` into `--engine-flags=WORDS` before mri sees
 * argv: its value starts with a dash (`--memory 8g`), which mri would read
 * as the next flag.
 */
export function joinEngineFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--engine-flags' && i + 1 < argv.length) out.push(`--engine-flags=${argv[++i]}`);
    else out.push(argv[i]!);
  }
  return out;
}

const KINDS: SandboxKind[] = ['none', 'docker', 'podman', 'jail'];

/** Reads the sandbox flags into a driver (bad combinations are usage errors, exit 124) and checks that it can work. */
export function sandboxFromFlags(args: Record<string, unknown>, platform: string, env: NodeJS.ProcessEnv = process.env): Sandbox {
  const str = (k: string): string | undefined => {
    const v = args[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') usageError(`--${k} needs a value (see builder-worker --help)`);
    return v;
  };
  const kind = (str('sandbox') ?? 'none') as SandboxKind;
  if (!KINDS.includes(kind)) usageError(`--sandbox must be one of ${KINDS.join(', ')}, not "${kind}"`);
  const only = (flag: string, kinds: SandboxKind[]) => {
    if (args[flag] !== undefined && !kinds.includes(kind)) usageError(`--${flag} is for --sandbox ${kinds.join(' or ')}, not ${kind}`);
  };
  only('image', ['docker', 'podman']);
  only('engine-flags', ['docker', 'podman', 'jail']);
  only('job-user', ['none']);
  only('jail-snapshot', ['jail']);
  const sandbox = driver(kind, str, platform, env);
  sandbox.check();
  log('info', `sandbox ${sandbox.description}`);
  return sandbox;
}

function driver(kind: SandboxKind, str: (k: string) => string | undefined, platform: string, env: NodeJS.ProcessEnv): Sandbox {
  switch (kind) {
    case 'docker':
    case 'podman':
      return containerSandbox({ engine: kind, image: str('image') ?? (env.BUILDER_WORKER_IMAGE || imageFor(platform)), engineFlags: splitFlags(str('engine-flags')) });
    case 'jail': {
      const snapshot = str('jail-snapshot') ?? usageError('--sandbox jail needs --jail-snapshot POOL/DATASET@SNAP (a FreeBSD userland to clone per job)');
      checkSnapshot(snapshot);
      return jailSandbox({ snapshot, params: splitFlags(str('engine-flags')) });
    }
    case 'none': {
      const user = jobUser(str('job-user'));
      const workdir = str('workdir');
      if (user && workdir) checkEnterable(workdir, user);
      return noneSandbox(user);
    }
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/** A job user must be able to enter --workdir to reach its own dir in it. */
function checkEnterable(dir: string, user: JobUser): void {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st === undefined) return; // made on the first job, with its error then
  const enter = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
  if ((st.mode & enter) === 0) usageError(`--workdir ${dir}: the job user ${user.name} cannot enter it (chmod o+x ${dir}, or give another --workdir)`);
}

function jobUser(given: string | undefined): ReturnType<typeof resolveJobUser> {
  const root = process.getuid?.() === 0;
  if (!root) {
    if (given !== undefined) usageError('--job-user needs the worker to run as root (it switches to that user for each job)');
    return null;
  }
  const user = resolveJobUser(given);
  if (user === null) log('warn', 'jobs run as root (--job-user root): only safe when this worker runs in a throw-away jail or container of its own');
  else if (user.name === 'nobody')
    log('warn', 'jobs run as nobody (no builder-job user): every process of nobody is killed after each job; create a dedicated user: useradd --system --no-create-home builder-job');
  return user;
}
