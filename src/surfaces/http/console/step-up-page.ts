/**
 * The request page's step-up: for a request whose rules require a passkey,
 * the Approve button runs the confirmation (passkeys.js): options bound to
 * this reviewer, this request and the digest the page showed, the
 * authenticator, then the approval through service/step-up.ts, which verifies
 * before the review use case records it. Production and PII approvals still
 * carry the ticked confirmation, checked here as on the plain form.
 */
import { Hono } from 'hono';
import { CountersignError } from '../../../core/errors.ts';
import { reviewBrief } from '../../../core/review-brief.ts';
import type { Deps } from '../../../service/deps.ts';
import { getRequest } from '../../../service/read.ts';
import { approveWithPasskey, stepUpOptions } from '../../../service/step-up.ts';
import type { AppEnv } from '../context.ts';
import { grantOfForm } from './grants-page.ts';
import { consoleForm } from './handlers.ts';
import { credentialField, jsonAnswer } from './json-answer.ts';

/** The confirmation a production or PII approval carries (request-page.ts CONFIRM_FIELD / CONFIRMED). */
const CONFIRM_FIELD = 'confirm';
const CONFIRMED = 'yes';

export function stepUpRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/requests/:id/step-up/options',
    consoleForm(deps, (c, who, form) => jsonAnswer(c, async () => ({ options: await stepUpOptions(deps, who.principal, c.req.param('id') ?? '', form.get('digest') ?? '') }))),
  );
  app.post(
    '/requests/:id/step-up',
    consoleForm(deps, (c, who, form) =>
      jsonAnswer(c, async () => {
        const id = c.req.param('id') ?? '';
        const comment = form.get('comment') ?? '';
        if (comment.length > 4000) throw new CountersignError('INVALID_REQUEST', 'comment: at most 4000 characters');
        if (form.get(CONFIRM_FIELD) !== CONFIRMED && reviewBrief(await getRequest(deps, who.principal, id)).confirm) {
          throw new CountersignError('CONFIRMATION_REQUIRED', 'this connection is tagged production or PII: tick the confirmation to approve');
        }
        // The review form's grant fields go with the passkey-confirmed approval (read before the ceremony is spent).
        const grant = grantOfForm(form);
        await approveWithPasskey(deps, { reviewer: who.principal, requestId: id, digest: form.get('digest') ?? '', comment, response: credentialField(form, 'credential'), ...(grant ? { grant } : {}) });
        return { redirect: `/requests/${encodeURIComponent(id)}?done=approve` };
      }),
    ),
  );
  return app;
}
