/**
 * The floor for any MCP gateway, for the bench: an MCP server on stdio that
 * hands every tools/call to an upstream over stdio through the SDK's Client
 * and returns its result — no authentication, policy, store or audit. Its
 * added latency is what the extra process and its two hops cost on this
 * machine. The upstream command is this file's arguments.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  process.stderr.write('usage: mcp-bare-relay <upstream command> [args...]\n');
  process.exit(2);
}
const upstream = new Client({ name: 'bare-relay', version: '1.0.0' });
await upstream.connect(new StdioClientTransport({ command, args, env: { PATH: process.env['PATH'] ?? '' } }));
const server = new Server({ name: 'bare-relay', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: (await upstream.listTools()).tools.map((t) => ({ ...t, name: `up__${t.name}` })),
}));
server.setRequestHandler(CallToolRequestSchema, async (request) => upstream.callTool({ name: request.params.name.replace(/^up__/, ''), arguments: request.params.arguments ?? {} }));
const transport = new StdioServerTransport();
process.stdin.once('end', () => {
  void transport.close();
});
server.onclose = () => {
  void upstream.close().then(() => process.exit(0));
};
await server.connect(transport);
