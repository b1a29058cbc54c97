/**
 * One gateway of `npm run bench:replicas`, run as its own process from the
 * config file BENCH_CONFIG (written by the bench: the same file for every
 * replica of a phase, so they share the store and the keys).
 *
 * Prints one JSON line on stdout: {"url", "pid"}. Exits when stdin closes
 * (its parent went away) or on SIGTERM, closing the gateway first.
 */
import { loadConfig } from '../../src/config/load.ts';
import { closeWhenParentGoes } from '../../test/support/child-lifecycle.ts';
import { startGateway } from '../../src/main.ts';

const file = process.env['BENCH_CONFIG'];
if (!file) {
  process.stderr.write('replica-process: BENCH_CONFIG is not set\n');
  process.exit(2);
}
const gateway = await startGateway(loadConfig(file, process.env), { configFile: file });
process.stdout.write(`${JSON.stringify({ url: gateway.url, pid: process.pid })}\n`);
closeWhenParentGoes(gateway);
