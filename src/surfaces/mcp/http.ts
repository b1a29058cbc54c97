/**
 * MCP over streamable HTTP at /mcp, mounted on the gateway's HTTP app behind
 * the same bearer authentication as /v1. Stateless: every POST gets its own
 * server for the authenticated principal, so any replica can answer any
 * request and nothing is kept between them (a held call's durable handle is
 * its request id, not a session). A call that asked for progress gets its
 * notifications and result as a stream on that POST's response; any other
 * request gets one JSON answer.
 */
import { Hono } from 'hono';
import type { Deps } from '../../service/deps.ts';
import type { AppEnv } from '../http/context.ts';
import type { McpServerOptions } from './server.ts';
import { lazyModule } from '../../adapters/lazy-module.ts';

// The MCP SDK's server side (several MB of heap) loads with the first POST to /mcp, not with the gateway.
const post = lazyModule(() => import('./http-post.ts'));

/**
 * @example
 * app.route('/mcp', mcpHttpRoutes(deps));
 */
export function mcpHttpRoutes(deps: Deps, opts: Pick<McpServerOptions, 'progressEverySeconds'> = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => (await post()).answerMcpPost(c, deps, opts));
  // Without sessions there is no stream to open (GET) or session to end (DELETE): the spec's answer is 405.
  app.on(['GET', 'DELETE'], '/', (c) => {
    c.header('allow', 'POST');
    return c.json({ error: { code: 'INVALID_REQUEST', message: 'this MCP endpoint is stateless: send requests with POST', traceId: c.get('traceId') } }, 405);
  });
  return app;
}
