/**
 * MCP over streamable HTTP at /mcp, mounted on the gateway's HTTP app behind
 * the same bearer authentication as /v1. Stateless: every POST gets its own
 * server for the authenticated principal, so any replica can answer any
 * request and nothing is kept between them (a held call's durable handle is
 * its request id, not a session). A call's progress notifications and result
 * stream back on that POST's response.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import type { Deps } from '../../service/deps.ts';
import type { AppEnv } from '../http/context.ts';
import { createGatewayMcpServer, type McpServerOptions } from './server.ts';

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
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, maxRequestBodySize: c.get('bodyLimit') });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw);
  });
  // Without sessions there is no stream to open (GET) or session to end (DELETE): the spec's answer is 405.
  app.on(['GET', 'DELETE'], '/', (c) => {
    c.header('allow', 'POST');
    return c.json({ error: { code: 'INVALID_REQUEST', message: 'this MCP endpoint is stateless: send requests with POST', traceId: c.get('traceId') } }, 405);
  });
  return app;
}
