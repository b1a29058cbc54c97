/**
 * The audit trail over HTTP, for humans with the auditor or admin role: signed
 * checkpoints, the keys that sign them, and RFC 9162 proofs.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { CountersignError } from '../../../core/errors.ts';
import { AUDIT_READERS, requireRole } from '../../../core/roles.ts';
import { consistency, inclusion } from '../../../service/audit-proofs.ts';
import { parseAuditQuery, searchAudit } from '../../../service/audit-search.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';

const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

function query<S extends z.ZodType>(schema: S, q: Record<string, string>): z.output<S> {
  const r = schema.safeParse(q);
  if (!r.success) throw new CountersignError('INVALID_REQUEST', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

export function auditRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Every route here: a human with a role that reads the audit trail. An agent has no role, whoever it acts for.
  app.use('*', async (c, next) => {
    requireRole(deps.identity.roles(c.get('principal')), AUDIT_READERS, 'the audit trail');
    await next();
  });

  app.get('/events', async (c) => {
    const page = await searchAudit(deps.store, parseAuditQuery(c.req.query()));
    return c.json({ events: page.events.map(({ body: _body, ...e }) => e), next: page.next });
  });

  app.get('/keys', (c) => c.json({ origin: deps.signer.origin, keys: deps.signer.verifierKeys() }));

  app.get('/checkpoints', async (c) => {
    const q = query(z.object({ latest: z.enum(['true', 'false']).optional(), fromSize: count.optional(), limit: z.coerce.number().int().min(1).max(10_000).optional() }), c.req.query());
    const checkpoints = await deps.store.checkpoints(q.latest === 'true' ? { latest: true } : { fromSize: q.fromSize ?? 0, limit: q.limit ?? 100 });
    return c.json({ origin: deps.signer.origin, keys: deps.signer.verifierKeys(), checkpoints });
  });

  app.get('/proofs/inclusion', async (c) => {
    const q = query(z.object({ index: count, size: count }), c.req.query());
    return c.json(await inclusion(deps.store, q.index, q.size));
  });

  app.get('/proofs/consistency', async (c) => {
    const q = query(z.object({ from: count, to: count }), c.req.query());
    return c.json(await consistency(deps.store, q.from, q.to));
  });
  return app;
}
