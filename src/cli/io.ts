/**
 * What a `countersign` command reads and writes besides its arguments: its
 * output streams, its input, its environment, and what it does on Ctrl-C.
 * bin/countersign.js gives it the process's own (processIo); a caller that runs
 * a command inside a process of its own (runCommand in program.ts) gives it
 * others, and gets the exit code back instead of an exit.
 */

/** A stream a command writes text to; `isTTY` and `columns` as a terminal's WriteStream has them. */
export type CliOutput = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly stdin: NodeJS.ReadableStream;
  /** Where options such as --url and --key fall back to (COUNTERSIGN_URL, COUNTERSIGN_KEY…) and config files read ${VAR} from. */
  readonly env: NodeJS.ProcessEnv;
  /** Calls `handler` on each interrupt (Ctrl-C) until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /** Ends at once with `code` (a second Ctrl-C while `run` waits). */
  exit(code: number): never;
}

/**
 * The process's own streams, environment and SIGINT.
 *
 * @example
 * process.exitCode = await runCommand(process.argv.slice(2), processIo());
 */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.removeListener('SIGINT', handler);
    },
    exit: (code) => process.exit(code),
  };
}
