/**
 * Exports for auditors over the REST API: `GET /v1/audit/export` (the
 * verifiable bundle of a period, a tar) and `GET /v1/evidence/report` (the
 * evidence report, JSON or HTML). Each handler checks the role itself: only a
 * human holding `auditor` or `admin` gets one; an agent never does, not even
 * one acting for an auditor (an agent holds no role).
 */
import { Hono } from 'hono';
import { AUDIT_READERS, requireRole } from '../../../core/roles.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { bundleResponse, evidenceFor, evidenceHtmlResponse, readEvidenceQuery, readExportQuery, refuseHead } from '../exports.ts';

/** Mounted at `/v1/audit`: `GET /export?from=&to=`. */
export function auditExportRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/export', async (c) => {
    requireRole(deps.identity.roles(c.get('principal')), AUDIT_READERS, 'an audit export');
    refuseHead(c.req.method);
    return bundleResponse(deps, readExportQuery(c.req.queries()), c.get('exportLimit'));
  });
  return app;
}

/** Mounted at `/v1/evidence`: `GET /report?from=&to=&framework=&format=json|html`. */
export function evidenceRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/report', async (c) => {
    requireRole(deps.identity.roles(c.get('principal')), AUDIT_READERS, 'an evidence report');
    const q = readEvidenceQuery(c.req.queries());
    const report = await evidenceFor(deps, q, c.get('exportLimit'));
    if (q.format === 'html') return evidenceHtmlResponse(report);
    c.header('cache-control', 'no-store');
    return c.json(report);
  });
  return app;
}
