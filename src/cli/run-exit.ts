/**
 * The exit codes of `countersign run`, one per outcome, so a pipeline or a
 * shell-using agent can branch on how a request ended. Its own module: the
 * help text, the command and its tests read the one table.
 */

/**
 * @example
 * if (code === RUN_EXIT.denied) console.error('a human or the policy said no');
 */
export const RUN_EXIT = {
  /** The action ran and the gateway reports it succeeded. */
  succeeded: 0,
  /** The gateway refused the call: an unknown connection, a bad key, an input it will not take. */
  refused: 1,
  /** The command was used wrongly (nothing was submitted). */
  usage: 2,
  /** The action ran and failed: an HTTP status ≥ 400, a SQL error, a command that exited non-zero, a tool error. */
  failed: 3,
  /** Denied, by the policy or by a reviewer. */
  denied: 4,
  /** Nobody decided before the request's time to live ran out. */
  expired: 5,
  /** The requester's side withdrew it. */
  cancelled: 6,
  /** `--timeout` ran out while the request was still pending or running; it keeps its state. */
  timedOut: 7,
  /** Ctrl-C while waiting (128 + SIGINT, as a shell reports it). */
  interrupted: 130,
} as const;

export type RunOutcome = keyof typeof RUN_EXIT;

/** The table as `countersign run --help` and the README show it. */
export function exitCodeTable(): string {
  const rows: [RunOutcome, string][] = [
    ['succeeded', 'succeeded'],
    ['refused', 'the gateway refused the call (unknown connection, bad key, invalid input): its error code is printed'],
    ['usage', 'usage error: nothing was submitted'],
    ['failed', 'ran and failed (HTTP status >= 400, SQL error, non-zero exit of the command, tool error)'],
    ['denied', 'denied by the policy or by a reviewer'],
    ['expired', 'expired before anyone decided'],
    ['cancelled', 'cancelled by the requester side'],
    ['timedOut', '--timeout ran out; the request keeps its state (its id is printed)'],
    ['interrupted', 'Ctrl-C while waiting; the request stays pending unless --cancel-on-interrupt'],
  ];
  return rows.map(([k, text]) => `  ${String(RUN_EXIT[k]).padStart(3)}  ${text}`).join('\n');
}
