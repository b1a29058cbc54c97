/**
 * Requests: list, read (with long-poll), follow (server-sent events), review
 * and cancel. The reviewer is always the authenticated caller.
 */
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { CountersignError } from '../../../core/errors.ts';
import { grantSeconds } from '../../../core/grant.ts';
import { REQUEST_STATUSES, TERMINAL_STATUSES, type RequestRecord } from '../../../core/request.ts';
import { cancel } from '../../../service/cancel.ts';
import { breakGlass } from '../../../service/break-glass.ts';
import type { Deps } from '../../../service/deps.ts';
import { getRequest, listRequests } from '../../../service/read.ts';
import { requestRevert } from '../../../service/revert.ts';
import { review } from '../../../service/review.ts';
import { waitForChange } from '../../../service/wait.ts';
import { waitSlots } from '../../../service/wait-slots.ts';
import { jsonBody } from '../body.ts';
import type { AppEnv } from '../context.ts';
import { requestView } from '../views.ts';

const listQuery = z.object({
  status: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(',') : undefined))
    .pipe(z.array(z.enum(REQUEST_STATUSES)).optional()),
  reviewable: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

const reviewBody = z.strictObject({
  verdict: z.enum(['approve', 'deny']),
  comment: z.string().max(4000).default(''),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  /** A scoped grant offered with an approval: `uses` further actions of the same shape, `for` how long (`30m`). */
  grant: z.strictObject({ uses: z.number().int(), for: z.union([z.string().max(20), z.number().int()]) }).optional(),
});

/** The justification is checked by the use case (JUSTIFICATION_REQUIRED), so a missing one gets that code. */
const breakGlassBody = z.strictObject({ justification: z.string().max(10_000).optional() }).default({});

const cancelBody = z.strictObject({ reason: z.string().max(4000).optional() }).default({});

function parseQuery<S extends z.ZodType>(schema: S, q: Record<string, string>): z.output<S> {
  const r = schema.safeParse(q);
  if (!r.success) throw new CountersignError('INVALID_REQUEST', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

export function requestRoutes(deps: Deps, opts: { maxWaitSeconds: number }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => {
    const q = parseQuery(listQuery, c.req.query());
    const viewer = c.get('principal');
    // A reviewer asking for pending work gets what they may review, unless they ask for all of it.
    const onlyPending = q.status?.length === 1 && q.status[0] === 'pending';
    const reviewable = q.reviewable ? q.reviewable === 'true' : viewer.kind === 'human' && onlyPending;
    const rows = await listRequests(deps, viewer, { ...(q.status ? { status: q.status } : {}), reviewable, ...(q.limit ? { limit: q.limit } : {}) });
    // Results can be large; a list carries everything needed to review, and GET /v1/requests/:id the result.
    return c.json({
      requests: rows.map((r) => {
        const { result: _result, ...view } = requestView(r, viewer, deps.identity);
        return view;
      }),
    });
  });

  app.get('/:id', async (c) => {
    const viewer = c.get('principal');
    const waitParam = c.req.query('wait');
    let r: RequestRecord;
    if (waitParam !== undefined) {
      const seconds = Number(waitParam);
      if (!Number.isFinite(seconds) || seconds < 0) throw new CountersignError('INVALID_REQUEST', 'wait: seconds, a number ≥ 0');
      const from = c.req.query('from');
      if (from !== undefined && !(REQUEST_STATUSES as readonly string[]).includes(from)) throw new CountersignError('INVALID_REQUEST', 'from: a request status');
      // A wait of no time holds nothing open: it is a read, whatever the principal's waits.
      const release = seconds > 0 ? waitSlots(deps).take(viewer, 'rest') : () => {};
      try {
        r = await waitForChange(deps, viewer, c.req.param('id'), {
          seconds: Math.min(seconds, opts.maxWaitSeconds),
          ...(from ? { from: from as RequestRecord['status'] } : {}),
          signal: c.req.raw.signal,
        });
      } finally {
        release();
      }
      // What it waited for goes only to a bearer still accepted (a token may expire while it waits): else 401.
      await c.get('credential')();
    } else {
      r = await getRequest(deps, viewer, c.req.param('id'));
    }
    return c.json(requestView(r, viewer, deps.identity));
  });

  app.get('/:id/events', async (c) => {
    const viewer = c.get('principal');
    const credential = c.get('credential');
    const id = c.req.param('id');
    const first = await getRequest(deps, viewer, id);
    // Taken before the stream opens, so a refusal is an answer of its own (429); a final request's stream holds nothing open.
    const release = TERMINAL_STATUSES.has(first.status) ? () => {} : waitSlots(deps).take(viewer, 'rest');
    return streamSSE(c, async (stream) => {
      try {
        let last = first;
        await stream.writeSSE({ event: 'request', id: String(last.version), data: JSON.stringify(requestView(last, viewer, deps.identity)) });
        while (!TERMINAL_STATUSES.has(last.status) && !stream.aborted) {
          const next = await waitForChange(deps, viewer, id, { seconds: 15, from: last.status, signal: c.req.raw.signal });
          // The stream lasts as long as the request: a bearer no longer accepted (a token past its exp) gets nothing more.
          if (!(await credential().then(() => true, () => false))) break;
          if (next.version === last.version) {
            await stream.writeSSE({ event: 'ping', data: '{}' });
            continue;
          }
          last = next;
          await stream.writeSSE({ event: 'request', id: String(last.version), data: JSON.stringify(requestView(last, viewer, deps.identity)) });
        }
      } catch (e) {
        // Another gateway replaced the config this process runs: the stream ends with nothing more (a reconnect is refused).
        if (!(e instanceof CountersignError && e.code === 'POLICY_NOT_IN_FORCE')) throw e;
      } finally {
        release();
      }
    });
  });

  app.post('/:id/reviews', async (c) => {
    const body = await jsonBody(c, reviewBody);
    const reviewer = c.get('principal');
    const grant = body.grant ? { uses: body.grant.uses, seconds: grantSeconds(body.grant.for) } : undefined;
    const r = await review(deps, { reviewer, requestId: c.req.param('id'), verdict: body.verdict, comment: body.comment, ...(body.digest ? { digest: body.digest } : {}), ...(grant ? { grant } : {}) });
    return c.json(requestView(r, reviewer, deps.identity));
  });

  app.post('/:id/break-glass', async (c) => {
    const body = await jsonBody(c, breakGlassBody);
    const by = c.get('principal');
    const r = await breakGlass(deps, { by, requestId: c.req.param('id'), justification: body.justification ?? '' });
    return c.json(requestView(r, by, deps.identity));
  });

  app.post('/:id/cancel', async (c) => {
    const body = await jsonBody(c, cancelBody);
    const r = await cancel(deps, { principal: c.get('principal'), requestId: c.req.param('id'), ...(body.reason ? { reason: body.reason } : {}) });
    return c.json(requestView(r, undefined, deps.identity));
  });

  // A new request, by the caller, that restores the rows this one changed (service/revert.ts); 201 with it.
  app.post('/:id/revert', async (c) => {
    const body = await jsonBody(c, cancelBody);
    const principal = c.get('principal');
    const r = await requestRevert(deps, { principal, requestId: c.req.param('id'), ...(body.reason ? { reason: body.reason } : {}), context: { surface: 'rest' } });
    return c.json(requestView(r, principal, deps.identity), 201);
  });

  return app;
}
