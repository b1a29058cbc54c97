/** POST /v1/actions: an agent submits an action; 200 ran, 202 held, 403 denied. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Deps } from '../../../service/deps.ts';
import { submit } from '../../../service/submit.ts';
import { jsonBody } from '../body.ts';
import type { AppEnv } from '../context.ts';
import { requestView } from '../views.ts';

const submitBody = z.strictObject({
  connection: z.string().min(1).max(200),
  input: z.unknown().refine((v) => v !== undefined, 'required'),
  reason: z.string().trim().min(1, 'say why (it is shown to reviewers)').max(4000),
});

/**
 * @example
 * app.route('/v1/actions', actionRoutes(deps, { consoleUrl: (id) => `https://cs.example.com/requests/${id}` }));
 */
export function actionRoutes(deps: Deps, opts: { readonly consoleUrl?: (id: string) => string } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    const body = await jsonBody(c, submitBody);
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    const r = await submit(deps, {
      principal: c.get('principal'),
      connection: body.connection,
      input: body.input,
      reason: body.reason,
      context: {
        surface: 'rest',
        ...(incoming?.socket?.remoteAddress ? { remoteAddress: incoming.socket.remoteAddress } : {}),
        ...(c.req.header('user-agent') ? { userAgent: c.req.header('user-agent')!.slice(0, 200) } : {}),
      },
    });
    const view = requestView(r);
    if (r.status === 'denied') {
      return c.json(
        {
          error: {
            code: r.error?.code ?? 'POLICY_DENIED',
            message: r.error?.message ?? 'denied by policy',
            rules: r.decision.rules,
            requestId: r.id,
            traceId: c.get('traceId'),
          },
          request: view,
        },
        403,
      );
    }
    if (r.status === 'pending') {
      // The console's page of the request: where the agent (or `countersign run`) tells its human to look.
      const links = { self: `/v1/requests/${r.id}`, wait: `/v1/requests/${r.id}?wait=30`, events: `/v1/requests/${r.id}/events`, ...(opts.consoleUrl ? { console: opts.consoleUrl(r.id) } : {}) };
      return c.json({ ...view, links }, 202);
    }
    return c.json(view, 200);
  });
  return app;
}
