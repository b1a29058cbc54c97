/** The end of every benchmark: its exit code, or 1 with the error, children killed either way. */
import { killAllChildren } from './procs.ts';

/**
 * @example
 * runMain(main, watchdog); // exits 0 when measured, 1 when it could not measure
 */
export function runMain(main: () => Promise<number>, watchdog?: NodeJS.Timeout): void {
  main().then(
    (code) => {
      if (watchdog) clearTimeout(watchdog);
      process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(`bench: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      killAllChildren();
      process.exit(1);
    },
  );
}

/**
 * The lines that end a report whose run went wrong: each problem, under a heading that voids the figures. None
 * when there were none.
 *
 * @example
 * out.push(...problemLines(problems));
 */
export function problemLines(problems: readonly string[]): string[] {
  return problems.length ? ['', '  ERRORS (the figures above are not valid):', ...problems.map((p) => `    - ${p}`)] : [];
}
