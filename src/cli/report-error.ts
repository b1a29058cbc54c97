/**
 * What the CLI says when a command fails: the error named in one line on stderr and the exit code it maps to
 * (1 a refusal or a failed check, 2 bad usage, configuration or a file that cannot be read). Anything else is
 * thrown on, a bug to see whole.
 */
import { CountersignError } from '../core/errors.ts';
import { CountersignApiError } from '../surfaces/sdk/client.ts';
import { safe } from './output.ts';
import { UsageError } from './usage-error.ts';
import type { CliIo } from './io.ts';

/** An error of the file system naming the path it failed on (ENOENT, EACCES, EISDIR…). */
function isFileError(e: unknown): e is NodeJS.ErrnoException & { path: string; code: string } {
  const f = e as NodeJS.ErrnoException;
  return e instanceof Error && typeof f.code === 'string' && typeof f.path === 'string' && typeof f.syscall === 'string';
}

/** The exit code for `e`, after writing its one line to stderr. */
export function reportError(e: unknown, io: CliIo): number {
  // The gateway's text (or whatever answered at the URL) is named, never sent raw to a terminal.
  if (e instanceof CountersignApiError) {
    io.stderr.write(`${safe(`countersign: ${e.code}: ${e.message}`)}\n`);
    return e.status === 401 ? 2 : 1;
  } else if (e instanceof CountersignError) {
    io.stderr.write(`${safe(`countersign: ${e.message}`)}\n`);
    return e.code === 'CONFIG_INVALID' || e.code === 'STORE_OF_ANOTHER_CONFIG' || e.code === 'INVALID_REQUEST' ? 2 : 1;
  } else if (e instanceof UsageError) {
    io.stderr.write(`countersign: ${e.message}\n`);
    return 2;
  } else if (isFileError(e)) {
    // A file named on the command line that cannot be read: its path and the reason, not a stack trace.
    io.stderr.write(`${safe(`countersign: cannot read ${e.path}: ${e.code}`)}\n`);
    return 2;
  } else if (e instanceof TypeError && /fetch failed/.test(e.message)) {
    io.stderr.write(`countersign: cannot reach the gateway (${(e.cause as Error | undefined)?.message ?? e.message}); is it running? Set --url or COUNTERSIGN_URL.\n`);
    return 1;
  } else {
    throw e;
  }
}
