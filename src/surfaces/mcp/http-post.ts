/**
 * One POST to /mcp (see http.ts): a server for the authenticated principal, connected to a stateless transport
 * that answers this request alone.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { ErrorCode as JsonRpc } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'hono';
import { jsonTextTooDeep, MAX_JSON_DEPTH } from '../../core/json-depth.ts';
import type { Deps } from '../../service/deps.ts';
import { readText } from '../http/body.ts';
import type { AppEnv } from '../http/context.ts';
import { createGatewayMcpServer, type McpServerOptions } from './server.ts';

function wantsProgress(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => {
    const token = (m as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params?._meta?.progressToken;
    return token !== undefined && token !== null;
  });
}

/**
 * @example
 * app.post('/', (c) => answerMcpPost(c, deps, {}));
 */
export async function answerMcpPost(c: Context<AppEnv>, deps: Deps, opts: Pick<McpServerOptions, 'progressEverySeconds'>): Promise<Response> {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  const userAgent = c.req.header('user-agent');
  const principal = c.get('principal');
  const credential = c.get('credential');
  const server = createGatewayMcpServer(deps, principal, {
    ...opts,
    recheck: async () => {
      await credential();
      return principal;
    },
    context: {
      ...(incoming?.socket?.remoteAddress ? { remoteAddress: incoming.socket.remoteAddress } : {}),
      ...(userAgent ? { userAgent: userAgent.slice(0, 200) } : {}),
    },
  });
  const text = await readText(c, c.get('bodyLimit'));
  if (jsonTextTooDeep(text)) {
    // Not parsed at all (the SDK and everything after it recurse), so the request's id is unknown: JSON-RPC says null.
    const message = `the message nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep`;
    return c.json({ jsonrpc: '2.0', id: null, error: { code: JsonRpc.InvalidRequest, message, data: { code: 'INPUT_TOO_DEEP', maxDepth: MAX_JSON_DEPTH } } }, 400);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the transport reads it again and answers with the JSON-RPC parse error.
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    return transport.handleRequest(new Request(c.req.url, { method: 'POST', headers: c.req.raw.headers, body: text }));
  }
  // A stream only when something will be sent before the result (progress); else one JSON answer, which costs less.
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !wantsProgress(parsed) });
  await server.connect(transport);
  return transport.handleRequest(c.req.raw, { parsedBody: parsed });
}
