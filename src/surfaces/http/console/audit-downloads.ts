/**
 * Downloads for auditors on the Audit page: the verifiable bundle of a period
 * (`/audit/bundle`, the tar `GET /v1/audit/export` sends) and its evidence
 * report (`/audit/evidence`, the HTML page or JSON of `GET /v1/evidence/report`).
 * Plain GET forms on the console session; each route checks the role itself,
 * as the REST routes do, so a human without `auditor` or `admin` gets
 * ROLE_REQUIRED (and an agent can never sign in to the console at all).
 */
import { Hono } from 'hono';
import { AUDIT_READERS, requireRole } from '../../../core/roles.ts';
import type { Deps } from '../../../service/deps.ts';
import { FRAMEWORKS } from '../../../service/evidence/index.ts';
import type { AppEnv } from '../context.ts';
import { bundleResponse, evidenceFor, evidenceHtmlResponse, readEvidenceQuery, readExportQuery, refuseHead } from '../exports.ts';
import { consolePage } from './handlers.ts';
import { html, type Html } from './html.ts';

/** The two forms, for the Audit page: a period in whole UTC days (`to` exclusive). */
export function downloadForms(): Html {
  return html`<section aria-labelledby="h-downloads"><h2 id="h-downloads">Bundle and evidence report</h2>
<p class="small">Days are UTC; <em>to</em> is exclusive. The bundle verifies offline: <code>countersign audit verify bundle.tar --verifier-key …</code>.</p>
<form method="get" action="/audit/bundle" class="filters" aria-label="Download bundle">
  <div><label for="b-from">From</label><input id="b-from" name="from" type="date"></div>
  <div><label for="b-to">To</label><input id="b-to" name="to" type="date"></div>
  <div class="buttons"><button type="submit">Download bundle</button> <span class="small">empty: the whole log</span></div>
</form>
<form method="get" action="/audit/evidence" class="filters" aria-label="Evidence report">
  <div><label for="e-from">From</label><input id="e-from" name="from" type="date" required></div>
  <div><label for="e-to">To</label><input id="e-to" name="to" type="date" required></div>
  <div><label for="e-framework">Framework</label><select id="e-framework" name="framework">${FRAMEWORKS.map((f) => html`<option>${f}</option>`)}</select></div>
  <div><label for="e-format">Format</label><select id="e-format" name="format"><option value="html">HTML page</option><option value="json">JSON</option></select></div>
  <div class="buttons"><button type="submit">Evidence report</button></div>
</form>
</section>`;
}

export function auditDownloadRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/audit/bundle',
    consolePage(deps, (c, who) => {
      requireRole(deps.identity.roles(who.principal), AUDIT_READERS, 'an audit export');
      refuseHead(c.req.method);
      return bundleResponse(deps, readExportQuery(c.req.queries()), c.get('exportLimit'));
    }),
  );
  app.get(
    '/audit/evidence',
    consolePage(deps, async (c, who) => {
      requireRole(deps.identity.roles(who.principal), AUDIT_READERS, 'an evidence report');
      const q = readEvidenceQuery(c.req.queries());
      const report = await evidenceFor(deps, q, c.get('exportLimit'));
      if (q.format === 'html') return evidenceHtmlResponse(report);
      const stamp = `${report.framework}-${report.period.from.slice(0, 10)}-${report.period.to.slice(0, 10)}`;
      c.header('content-disposition', `attachment; filename="countersign-evidence-${stamp}.json"`);
      return c.json(report);
    }),
  );
  return app;
}
