/** Reading a benchmark's settings from the environment, refusing nonsense with the variable's name. */

/**
 * A number from `name`, or `fallback` when unset or empty. By default any
 * finite number ≥ 0; `integer` asks for a whole number ≥ `min`.
 *
 * @example
 * const seconds = envNumber('BENCH_SECONDS', 10);
 * const events = envNumber('BENCH_AUDIT_EVENTS', 200_000, { integer: true, min: 1 });
 */
export function envNumber(name: string, fallback: number, opts: { integer?: boolean; min?: number } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (opts.integer) {
    const min = opts.min ?? 0;
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${raw}`);
    return n;
  }
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return n;
}

/** On SIGINT or SIGTERM: say so, clean up (children, files), exit 130. */
export function stopOnSignals(cleanup: () => void, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`bench: ${signal}; stopping`);
      cleanup();
      process.exit(130);
    });
  }
}

/**
 * Bounds the whole run: after `budgetMs`, says so (with `what`, the budget's name when it has one), cleans up and
 * exits 1; SIGINT and SIGTERM clean up too. The timer does not keep the process alive; hand it to runMain.
 *
 * @example
 * const watchdog = startWatchdog(300_000, killAllChildren, log);
 * runMain(main, watchdog);
 */
export function startWatchdog(budgetMs: number, cleanup: () => void, log: (line: string) => void, what = ''): NodeJS.Timeout {
  const watchdog = setTimeout(() => {
    log(`bench: overran its ${budgetMs / 1000} s budget${what ? ` (${what})` : ''}; stopping`);
    cleanup();
    process.exit(1);
  }, budgetMs);
  watchdog.unref();
  stopOnSignals(cleanup, log);
  return watchdog;
}
