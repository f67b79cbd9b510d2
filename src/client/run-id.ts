import { checkRunIdOrPrefix } from '../protocol/decode.js';
import { usageError } from '../shared/cli.js';
import { reason } from '../shared/errors.js';

/** Checks a RUN_ID argument (a UUID, or a prefix of at least 4 characters the server resolves), turning a bad one into a usage error. */
export function runIdArg(v: string | undefined): string {
  if (v === undefined) usageError('missing RUN_ID (see: builder-client info, builder-client results)');
  try {
    return checkRunIdOrPrefix(v.toLowerCase());
  } catch (e) {
    return usageError(reason(e));
  }
}
