/**
 * The MCP bench's upstream over stdio: an McpServer with the same read-only
 * `greet` tool as the HTTP one, started as a command both by the bench (the
 * direct phase) and by the gateway's `mcp` connection.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'bench-upstream', version: '1.0.0' });
server.registerTool(
  'greet',
  { description: 'Greets someone by name.', inputSchema: { name: z.string() }, annotations: { readOnlyHint: true, openWorldHint: false } },
  async ({ name }) => ({ content: [{ type: 'text', text: `hello, ${name}` }] }),
);
await server.connect(new StdioServerTransport());
