/**
 * Fail closed at the process level: an error nothing caught (a throw in a
 * timer or callback, a promise rejected with no handler) leaves a gateway in
 * a state nobody reasoned about, so it must not keep executing actions. The
 * error is logged with its stack, what can be closed is closed (the listener,
 * the store, with a last signed checkpoint), and the process exits non-zero
 * for its supervisor to restart it; a close that hangs is cut short.
 */
import type { Logger } from 'pino';

/** The exit code after an uncaught error (EX_SOFTWARE in sysexits.h). */
export const CRASH_EXIT_CODE = 70;

/**
 * Installs the handlers for this process; returns a function that removes them.
 *
 * @example
 * const gw = await startGateway(config, { logger });
 * exitOnCrash(logger, () => gw.close());
 */
export function exitOnCrash(log: Pick<Logger, 'fatal'>, close: () => Promise<void>, opts: { graceMs?: number } = {}): () => void {
  let ending = false;
  const crash = (kind: string) => (err: unknown) => {
    log.fatal({ err, kind }, `${kind}: the process stops (fail closed)`);
    if (ending) return;
    ending = true;
    setTimeout(() => process.exit(CRASH_EXIT_CODE), opts.graceMs ?? 5000).unref();
    close().then(
      () => process.exit(CRASH_EXIT_CODE),
      (e: unknown) => {
        log.fatal({ err: e }, 'closing after an uncaught error failed');
        process.exit(CRASH_EXIT_CODE);
      },
    );
  };
  const onException = crash('uncaught exception');
  const onRejection = crash('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
