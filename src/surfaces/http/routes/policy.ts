/**
 * POST /v1/policy/simulate: what would happen, without creating anything.
 * GET /v1/policy/coverage: the coverage map; GET /v1/policy/shadow?since=7d: where the shadowed candidate policy
 * would have decided otherwise (both for audit readers).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { CoverageMap } from '../../../core/policy/coverage.ts';
import type { Principal } from '../../../core/principal.ts';
import type { Deps } from '../../../service/deps.ts';
import { shadowDecisions } from '../../../service/policy-shadow.ts';
import { simulateSoon } from '../../../service/simulate.ts';
import { jsonBody } from '../body.ts';
import type { AppEnv } from '../context.ts';

const simulateBody = z.strictObject({
  principal: z.string().min(1).optional(),
  connection: z.string().min(1),
  input: z.unknown(),
  reason: z.string().max(4000).optional(),
});

export function policyRoutes(deps: Deps, coverage: (caller: Principal) => CoverageMap): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/coverage', (c) => c.json(coverage(c.get('principal'))));
  app.post('/simulate', async (c) => {
    const body = await jsonBody(c, simulateBody);
    const s = await simulateSoon(deps, {
      caller: c.get('principal'),
      connection: body.connection,
      input: body.input,
      ...(body.principal ? { as: body.principal } : {}),
      ...(body.reason ? { reason: body.reason } : {}),
    });
    const d = s.decision;
    return c.json({
      principal: s.principal,
      effect: d.effect,
      rules: d.rules,
      message: d.message,
      approvers: d.approvers,
      ttlSeconds: d.ttlSeconds,
      errors: d.errors,
      policyHash: d.policyHash,
      facts: s.facts,
      digest: s.digest,
    });
  });
  app.get('/shadow', async (c) => {
    const since = c.req.query('since');
    return c.json(await shadowDecisions(deps, c.get('principal'), since !== undefined ? { since } : {}));
  });
  return app;
}
