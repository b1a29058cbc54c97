/**
 * A gateway run as a child process closes itself when its parent goes away
 * (stdin ends) or on SIGTERM/SIGINT, and exits within 3 s whatever happens,
 * so a test or benchmark never leaves one behind.
 */
import type { Gateway } from '../../src/main.ts';

export function closeWhenParentGoes(gateway: Gateway): void {
  let stopping = false;
  function stop(): void {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 3000).unref();
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
