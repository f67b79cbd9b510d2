import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

/** This host's platform name as workers announce it, e.g. `debian-12`, `ubuntu-24.04`, `freebsd-14`. */
export function hostPlatform(): string {
  if (process.platform === 'freebsd') return `freebsd-${os.release().split('.')[0]}`;
  try {
    const fields = parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
    const id = fields.ID ?? process.platform;
    const ver = fields.VERSION_ID ?? os.release().split('.')[0];
    return `${id}-${ver}`.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
  } catch {
    return `${process.platform}-${os.release().split('.')[0]}`;
  }
}

function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^["']|["']$/g, '');
  }
  return out;
}

/** The default spool directory: the system one when root, else XDG state dir or ./var. */
export function defaultSpoolDir(): string {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root) return process.platform === 'freebsd' ? '/var/db/builder' : '/var/lib/builder';
  if (process.env.XDG_STATE_HOME) return join(process.env.XDG_STATE_HOME, 'builder');
  return join(process.cwd(), 'var');
}

/** The default config directory (templates live here). */
export function defaultConfigDir(): string {
  return process.platform === 'freebsd' ? '/usr/local/etc/builder' : '/etc/builder';
}
