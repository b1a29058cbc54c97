/**
 * The MCP bench's gateway, as its own process: a SQLite store in BENCH_DIR,
 * one agent with a fresh key, an `mcp` connection to UPSTREAM_URL (streamable
 * HTTP) and a policy that allows read-only tools. Prints {"url", "agentKey"}.
 */
import { join } from 'node:path';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/main.ts';
import { closeWhenParentGoes } from '../../test/support/child-lifecycle.ts';

const dir = process.env['BENCH_DIR'];
const upstreamUrl = process.env['UPSTREAM_URL'];
if (!dir || !upstreamUrl) {
  process.stderr.write('mcp-gateway-process: BENCH_DIR and UPSTREAM_URL must be set\n');
  process.exit(2);
}
const agent = generateApiKey();
const yaml = `server: { port: 0, host: 127.0.0.1 }
store: { sqlite: { path: ${JSON.stringify(join(dir, 'countersign.db'))} } }
audit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }
log: { level: ${process.env['BENCH_GATEWAY_LOG'] ?? 'warn'} }
principals:
  - id: bench-bot
    kind: agent
    apiKeys: ["${agent.hash}"]
connections:
  - name: up
    kind: mcp
    url: ${upstreamUrl}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.mcp.annotations.readOnlyHint
      effect: allow
`;
const gateway = await startGateway(parseConfig(yaml, 'bench-mcp.yaml', process.env));
process.stdout.write(`${JSON.stringify({ url: gateway.url, agentKey: agent.key })}\n`);
closeWhenParentGoes(gateway);
