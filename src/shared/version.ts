declare const __BUILDER_VERSION__: string | undefined;

/** The package version, baked in by build.mjs (a dev build from tsc says 0.0.0-dev). */
export const VERSION: string = typeof __BUILDER_VERSION__ === 'string' ? __BUILDER_VERSION__ : '0.0.0-dev';

/** The wire protocol version; peers with another version are refused on hello. */
export const PROTOCOL_VERSION = 1;

/**
 * What `--version` prints: program, version, protocol and the Node runtime it
 * runs on (inside the binaries, the Node built into them).
 */
export function versionLine(program: string): string {
  return `${program} ${VERSION} (protocol ${PROTOCOL_VERSION}, Node ${process.version})`;
}
