/**
 * A gateway as its own process, for tests that need a second process on the
 * same store or a crash mid-flight. Started by shared-gateway.ts as
 * `node bin/run-ts.js test/support/gateway-child.ts <config.yaml>`, with the
 * store already chosen in that file (a SQLite path, or the shared test
 * database under COUNTERSIGN_TEST_STORE=postgres: the parent owns and drops it).
 *
 * Prints one JSON line on stdout when listening: {"url", "pid"}. Closes on
 * SIGTERM or when stdin closes (its parent went away).
 */
import { loadConfig } from '../../src/config/load.ts';
import { closeWhenParentGoes } from './child-lifecycle.ts';
import { createLogger, startGateway } from '../../src/main.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: gateway-child <config.yaml>\n');
  process.exit(2);
}

const config = loadConfig(file, process.env);
// The log goes to stderr: stdout carries the ready line.
const gateway = await startGateway(config, { logger: createLogger(config.log.level, 2), sweepMs: 50 });
process.stdout.write(`${JSON.stringify({ url: gateway.url, pid: process.pid })}\n`);

closeWhenParentGoes(gateway);
