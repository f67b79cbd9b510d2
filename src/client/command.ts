import type { ClientRemote } from './request.js';

/** What every client command gets: the server address and how to print. */
export interface ClientContext {
  remote: ClientRemote;
  json: boolean;
  /** Parsed flags and positional arguments (after the command name). */
  args: { _: string[]; [flag: string]: unknown };
}

/** One client command: its usage text, its own flags, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Flags this command accepts besides the global ones. */
  flags: string[];
  /** Flags that take no value. */
  booleans?: string[];
  /** Needs no server (inspect): --remote / BUILDER_REMOTE are not read, so a bad one does not get in the way. */
  offline?: boolean;
  run(ctx: ClientContext): Promise<number | void>;
}
