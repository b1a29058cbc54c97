/**
 * A stateless MCP upstream over Streamable HTTP, as the SDKs' servers run without sessions: each POST gets a server
 * of its own from `build` (the test registers its tools there) and a transport with no session id, answering JSON.
 * A GET (a client's stream) or DELETE (the end of a session) has no body: the transport answers it as it does.
 */
import { createServer } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface StatelessMcp {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  close(): Promise<void>;
}

export async function startStatelessMcp(build: () => Server | McpServer): Promise<StatelessMcp> {
  const http = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await build().connect(transport);
    const text = Buffer.concat(chunks).toString('utf8');
    await transport.handleRequest(req, res, text === '' ? undefined : JSON.parse(text));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as { port: number }).port}/mcp`,
    // Keep-alive connections of the gateway's client would hold close() open: they are ended with it.
    close: () =>
      new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections();
      }),
  };
}
