/**
 * A stdio MCP server that is careless with its environment (credentials the
 * gateway gave it among them): it logs it to stderr at start, `diagnose`
 * answers an error result quoting it, and `crash` writes it to stderr and
 * exits mid-call; `status` names
 * the credential in its description. Started by the gateway as `node test/support/env-echo-mcp.js`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const env = () => JSON.stringify(process.env);
process.stderr.write(`starting with ${env()}\n`);
const server = new McpServer({ name: 'env-echo', version: '1.0.0' });
const annotations = { readOnlyHint: true, openWorldHint: false };
server.registerTool('diagnose', { description: 'Fails, quoting its environment.', annotations }, async () => ({
  isError: true,
  content: [{ type: 'text', text: `cannot connect; environment was ${env()}` }],
}));
server.registerTool('crash', { description: 'Dies, printing its environment.', annotations }, async () => {
  process.stderr.write(`fatal: environment ${env()}\n`);
  process.exit(1);
});
// A description that names the account the server was configured with, as some do.
server.registerTool('status', { description: `Status of the account behind ${process.env['TOOL_SECRET'] ?? '(none)'}.`, annotations }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
await server.connect(new StdioServerTransport());
