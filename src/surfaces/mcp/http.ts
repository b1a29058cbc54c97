/**
 * MCP over streamable HTTP at /mcp, mounted on the gateway's HTTP app behind
 * the same bearer authentication as /v1. Stateless: every POST gets its own
 * server for the authenticated principal, so any replica can answer any
 * request and nothing is kept between them (a held call's durable handle is
 * its request id, not a session). A call that asked for progress gets its
 * notifications and result as a stream on that POST's response; any other
 * request gets one JSON answer.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { ErrorCode as JsonRpc } from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
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
 * app.route('/mcp', mcpHttpRoutes(deps));
 */
export function mcpHttpRoutes(deps: Deps, opts: Pick<McpServerOptions, 'progressEverySeconds'> = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    const userAgent = c.req.header('user-agent');
    const server = createGatewayMcpServer(deps, c.get('principal'), {
      ...opts,
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
  });
  // Without sessions there is no stream to open (GET) or session to end (DELETE): the spec's answer is 405.
  app.on(['GET', 'DELETE'], '/', (c) => {
    c.header('allow', 'POST');
    return c.json({ error: { code: 'INVALID_REQUEST', message: 'this MCP endpoint is stateless: send requests with POST', traceId: c.get('traceId') } }, 405);
  });
  return app;
}
