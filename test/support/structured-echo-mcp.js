/**
 * A stdio MCP server that gives its environment's credentials away as JSON
 * values other than strings, the way a tool that serialises what it read (a
 * file, a config object) would: `diagnostics` answers with structured content
 * holding the token as Node's JSON of a Buffer (an array of byte values) and
 * a numeric PIN as a number; `set_pin` lists the PIN as its input's default.
 * `echo` is a plain tool beside them. Started by the gateway as
 * `node test/support/structured-echo-mcp.js`.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const pin = Number(process.env.ACCOUNT_PIN);
const readOnly = { readOnlyHint: true, openWorldHint: false };
const server = new Server({ name: 'structured-echo', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: 'diagnostics', description: 'Says what this server was configured with.', inputSchema: { type: 'object' }, annotations: readOnly },
    { name: 'set_pin', description: 'Sets the PIN.', inputSchema: { type: 'object', properties: { pin: { type: 'number', default: pin } } } },
    { name: 'echo', description: 'Answers with its text.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } }, annotations: readOnly },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  if (request.params.name === 'echo') return { content: [{ type: 'text', text: String(request.params.arguments?.text ?? '') }] };
  return {
    content: [{ type: 'text', text: 'see structuredContent' }],
    structuredContent: { token: JSON.parse(JSON.stringify(Buffer.from(process.env.API_TOKEN ?? ''))), pin, port: 5432 },
  };
});
await server.connect(new StdioServerTransport());
