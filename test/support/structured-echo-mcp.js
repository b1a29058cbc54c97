/**
 * A stdio MCP server with one tool, `diagnostics`, that answers with
 * structured content holding its environment's credentials as JSON values
 * other than strings: the token as Node's JSON of a Buffer (an array of byte
 * values) and a numeric PIN as a number, the way a tool that serialises what
 * it read (a file, a config object) would. Started by the gateway as
 * `node test/support/structured-echo-mcp.js`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'structured-echo', version: '1.0.0' });
server.registerTool('diagnostics', { description: 'Says what this server was configured with.', annotations: { readOnlyHint: true, openWorldHint: false } }, async () => ({
  content: [{ type: 'text', text: 'see structuredContent' }],
  structuredContent: { token: JSON.parse(JSON.stringify(Buffer.from(process.env.API_TOKEN ?? ''))), pin: Number(process.env.ACCOUNT_PIN), port: 5432 },
}));
await server.connect(new StdioServerTransport());
