/**
 * `countersign mcp --connect`: an MCP server on stdio (for clients that
 * launch a command) that relays to a gateway's /mcp over streamable HTTP.
 * It holds no policy and no credentials but the agent's own key: tools/list
 * and tools/call go to the gateway as they came, and the gateway's progress
 * notifications come back on the caller's progress token.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolRequestSchema, CallToolResultSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { SERVER_INFO } from './server.ts';

export interface RelayOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8700 */
  readonly url: string;
  readonly key: string;
}

// The gateway bounds how long a call waits; the relay must never be the one to give up first.
const RELAY_TIMEOUT_MS = 24 * 3600 * 1000;

/**
 * Connects to the gateway, then serves `local` (stdio in the CLI) until either side closes.
 *
 * @example
 * await startRelay({ url: 'http://127.0.0.1:8700', key }, new StdioServerTransport());
 */
export async function startRelay(opts: RelayOptions, local: Transport): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  const client = new Client({ name: 'countersign-relay', version: SERVER_INFO.version }, { capabilities: {} });
  const endpoint = new URL('/mcp', opts.url);
  await client.connect(new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: { authorization: `Bearer ${opts.key}` } } }));
  const remote = client.getInstructions();
  const server = new Server(SERVER_INFO, { capabilities: { tools: {} }, ...(remote ? { instructions: remote } : {}) });

  // The gateway's errors keep their JSON-RPC code and data; a lost gateway is an internal error.
  const relayed = (e: unknown) => (e instanceof McpError ? e : new McpError(ErrorCode.InternalError, `the gateway at ${endpoint.origin} could not be reached: ${e instanceof Error ? e.message : String(e)}`));

  server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
    try {
      return await client.listTools(request.params, { signal: extra.signal });
    } catch (e) {
      throw relayed(e);
    }
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const token = request.params._meta?.progressToken;
    const { _meta, ...params } = request.params;
    try {
      return await client.callTool({ ...params, ...(_meta ? { _meta: { ..._meta, progressToken: undefined } } : {}) }, CallToolResultSchema, {
        signal: extra.signal,
        timeout: RELAY_TIMEOUT_MS,
        ...(token !== undefined
          ? {
              onprogress: (p) => {
                extra.sendNotification({ method: 'notifications/progress', params: { ...p, progressToken: token } }).catch(() => {});
              },
            }
          : {}),
      });
    } catch (e) {
      throw relayed(e);
    }
  });

  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(local);
  return {
    closed,
    async close() {
      await server.close();
      await client.close();
    },
  };
}
