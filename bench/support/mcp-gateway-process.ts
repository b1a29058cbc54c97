/**
 * The MCP bench's gateway, as its own process, running the config given
 * whole in BENCH_CONFIG (YAML). Prints {"url"} and closes the gateway when
 * its parent goes or on SIGTERM, so that `--cpu-prof` gets to write.
 */
import { parseConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/main.ts';
import { closeWhenParentGoes } from '../../test/support/child-lifecycle.ts';

const yaml = process.env['BENCH_CONFIG'];
if (!yaml) {
  process.stderr.write('mcp-gateway-process: BENCH_CONFIG must be set\n');
  process.exit(2);
}
const gateway = await startGateway(parseConfig(yaml, 'bench-mcp.yaml', process.env));
process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
closeWhenParentGoes(gateway);
