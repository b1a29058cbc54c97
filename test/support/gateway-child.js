/**
 * A gateway as its own process, for tests that need a second process on the
 * same store, a replica, or a crash mid-flight. Started by shared-gateway.ts
 * and replica.ts as `node test/support/gateway-child.js <config.yaml>`, with
 * the store already chosen in that file (a SQLite path, or a PostgreSQL
 * database the parent owns and drops).
 *
 * Plain JavaScript on the compiled gateway, as bundled in dist/bundle/ (the
 * CLI's bundle), which the tests' global setup (build-dist.ts) builds from the
 * current sources before any test runs: a child then starts in about half the
 * time it took through the TypeScript loader, which compiled the sources again
 * in every child, and in half that again than from the unbundled dist/.
 *
 * Prints one JSON line on stdout when listening: {"url", "pid"}. Closes on
 * SIGTERM or SIGINT, or when stdin closes (its parent went away), and exits
 * within 3 s whatever happens (as child-lifecycle.ts does for the benchmarks).
 */
import { loadConfig } from '../../dist/bundle/config-load.js';
import { createLogger, heldSecrets, startGateway } from '../../dist/bundle/main.js';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: gateway-child <config.yaml>\n');
  process.exit(2);
}

const config = loadConfig(file, process.env);
// The log goes to stderr: stdout carries the ready line.
const gateway = await startGateway(config, { logger: createLogger(config.log.level, 2, heldSecrets(config)), sweepMs: 50 });
process.stdout.write(`${JSON.stringify({ url: gateway.url, pid: process.pid })}\n`);

let stopping = false;
function stop() {
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
