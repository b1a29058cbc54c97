/**
 * A stdio MCP server (the MCP SDK's) with one tool, `units`, that answers with
 * the UTF-16 code units of the `text` it was given, in hex, so a test sees
 * exactly what the server read of a string (a lone surrogate as itself, or as
 * U+FFFD). Started by the gateway as `node test/support/code-units-mcp.js`.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'code-units', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [{ name: 'units', description: 'Answers with the code units of its text.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } }, annotations: { readOnlyHint: true, openWorldHint: false } }],
}));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const text = String(request.params.arguments?.text ?? '');
  return { content: [{ type: 'text', text: [...Array(text.length).keys()].map((i) => text.charCodeAt(i).toString(16)).join(' ') }] };
});
await server.connect(new StdioServerTransport());
