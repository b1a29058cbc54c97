/**
 * A stdio MCP server with one tool, `whoami`, that answers with the command
 * line it was started with, the way a server's diagnostics or error messages
 * quote their own configuration (a database URL, an `--api-key`). Started by
 * the gateway as `node test/support/argv-echo-mcp.js <args…>`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'argv-echo', version: '1.0.0' });
server.registerTool('whoami', { description: 'Says how this server was started.', annotations: { readOnlyHint: true, openWorldHint: false } }, async () => ({
  content: [{ type: 'text', text: `started as: ${process.argv.slice(2).join(' ')}` }],
}));
await server.connect(new StdioServerTransport());
