/**
 * Scoped grants: list the ones the caller may see, revoke one (service/grants.ts says who may). A grant is offered
 * with an approval, on the review route (`grant: { uses, for }`).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { CountersignError } from '../../../core/errors.ts';
import { grantStatus, type Grant } from '../../../core/grant.ts';
import type { Deps } from '../../../service/deps.ts';
import { listGrants, revokeGrant } from '../../../service/grants.ts';
import { jsonBody } from '../body.ts';
import type { AppEnv } from '../context.ts';

/** A grant as a client sees it. */
export function grantView(g: Grant, now: Date) {
  return {
    id: g.id,
    requestId: g.requestId,
    status: grantStatus(g, now),
    principal: g.principal,
    connection: g.connection,
    operation: g.operation,
    uses: g.uses,
    used: g.used,
    vary: g.vary,
    rules: g.rules,
    by: g.by.map((b) => b.id),
    createdAt: g.createdAt,
    expiresAt: g.expiresAt,
    revoked: g.revoked,
  };
}

const listQuery = z.strictObject({ request: z.string().min(1).max(200).optional(), active: z.enum(['true', 'false']).optional() });

export function grantRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => {
    const q = listQuery.safeParse(c.req.query());
    if (!q.success) throw new CountersignError('INVALID_REQUEST', q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const now = deps.clock.now();
    const grants = (await listGrants(deps, c.get('principal'), q.data.request ? { requestId: q.data.request } : {})).map((g) => grantView(g, now));
    return c.json({ grants: q.data.active === 'true' ? grants.filter((g) => g.status === 'active') : grants });
  });

  app.post('/:id/revoke', async (c) => {
    await jsonBody(c, z.strictObject({}).default({}));
    const g = await revokeGrant(deps, c.get('principal'), c.req.param('id'));
    return c.json(grantView(g, deps.clock.now()));
  });

  return app;
}
