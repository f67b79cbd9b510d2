import type { CoreConfig } from '../core/state.js';
import type { HttpAddress } from '../http/address.js';
import type { UploadConfig } from '../uploads/upload.js';
import type { SecurityConfig } from './security.js';

/** Server settings from the command line: the core's, plus what the listeners, the status page and uploads need. */
export interface ServerConfig extends CoreConfig {
  ip: string;
  port: number;
  maxLine: number;
  /** --upload, --keep-local, --save-format der and their tuning (none when absent). */
  upload?: UploadConfig;
  /** Port for the original builder's protocol (--compat-port, same --ip), or absent when it is off. */
  compatPort?: number | null;
  /** Where the read-only status page listens (--http), or absent when it is off. */
  http?: HttpAddress | null;
  /** Extra Host names the status page answers (--http-host), beside its own address and localhost. */
  httpHosts?: string[];
  /** Credentials, TLS, the local socket. */
  security: SecurityConfig;
}
