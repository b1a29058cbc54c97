/**
 * POST /v1/actions: an agent submits an action; 200 ran, 202 held, 403 denied.
 * With an `Idempotency-Key` header (IETF httpapi draft), a retry by the same
 * principal under the same key answers with the request the key made, as it
 * stands now, and `Idempotent-Replayed: true`; nothing is recorded or run again.
 */
import { Hono, type Context } from 'hono';
import { parseIdempotencyKey } from '../../../core/idempotency.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { Deps } from '../../../service/deps.ts';
import { submitOnce } from '../../../service/submit.ts';
import { jsonBody } from '../body.ts';
import { plainSubmitBody, submitBody } from '../submit-body.ts';
import type { AppEnv } from '../context.ts';
import { requestHeader } from '../headers.ts';
import { requestView } from '../views.ts';

/**
 * @example
 * app.route('/v1/actions', actionRoutes(deps, { consoleUrl: (id) => `https://cs.example.com/requests/${id}` }));
 */
export function actionRoutes(deps: Deps, opts: { readonly consoleUrl?: (id: string) => string } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/', async (c) => {
    // Checked before the body: a bad key is refused whatever else is wrong, and nothing is recorded.
    const header = requestHeader(c, 'idempotency-key');
    const idempotencyKey = header === undefined ? undefined : parseIdempotencyKey(header);
    const body = await jsonBody(c, submitBody, plainSubmitBody);
    const remoteAddress = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress;
    const userAgent = requestHeader(c, 'user-agent');
    const { request, replayed } = await submitOnce(deps, {
      principal: c.get('principal'),
      connection: body.connection,
      input: body.input,
      reason: body.reason,
      // Keys in canonical order, as the audit log writes them.
      context: {
        ...(remoteAddress ? { remoteAddress } : {}),
        surface: 'rest',
        ...(userAgent ? { userAgent: userAgent.slice(0, 200) } : {}),
      },
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return answer(c, deps, request, opts.consoleUrl);
  });
  return app;
}

/**
 * The answer for a request as it stands: 403 with the error when denied; 202 with where to wait while it is not
 * final (held, approved, running: a fresh submission is only ever held here, a replay may find any); else 200.
 */
function answer(c: Context<AppEnv>, deps: Deps, r: RequestRecord, consoleUrl?: (id: string) => string): Response {
  const view = requestView(r, undefined, deps.identity);
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
  if (r.status === 'pending' || r.status === 'approved' || r.status === 'executing') {
    // The console's page of the request: where the agent (or `countersign run`) tells its human to look.
    const links = { self: `/v1/requests/${r.id}`, wait: `/v1/requests/${r.id}?wait=30`, events: `/v1/requests/${r.id}/events`, ...(consoleUrl ? { console: consoleUrl(r.id) } : {}) };
    return c.json({ ...view, links }, 202);
  }
  return c.json(view, 200);
}
