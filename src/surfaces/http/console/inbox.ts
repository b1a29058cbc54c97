/**
 * The inbox: pending requests the signed-in human may review, newest first,
 * each led by the exact action and its risks (never the agent's reason),
 * with who asked, for whom, where and how long is left. The list is
 * live: /inbox/events streams it again (server-sent events) whenever a
 * request changes, in this gateway (the notifier) or another on the same
 * store (a slow poll).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { CountersignError } from '../../../core/errors.ts';
import type { RequestRecord } from '../../../core/request.ts';
import { reviewBrief } from '../../../core/review-brief.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { countdown, requester, tags, when } from './format.ts';
import { consolePage, inboxOf, securityHeaders } from './handlers.ts';
import { html, type Html } from './html.ts';
import { page } from './layout.ts';
import { readConsoleSession } from './session.ts';

/** How often the stream looks at the store for changes made by another process. */
const POLL_MS = 2000;
const PING_MS = 15_000;

function item(r: RequestRecord, now: Date): Html {
  const brief = reviewBrief(r, 140);
  return html`<li class="card">
  <a class="card-link" href="/requests/${r.id}"><span class="summary">${brief.action}</span></a>
  <div class="meta risk">Risk: <strong class="risk-flag">${brief.riskLine}</strong></div>
  <div class="meta">
    <span>${requester(r)}</span>
    <span>on <strong class="connection">${r.connection.name}</strong></span>
    ${tags(r.connection)}
  </div>
  <div class="meta">
    <span>asked ${when(r.createdAt)}</span>
    ${countdown(r.expiresAt, now)}
    <code class="id">${r.id}</code>
  </div>
</li>`;
}

/** The list itself, as the page and the stream both render it. */
export function inboxList(requests: readonly RequestRecord[], now: Date): Html {
  if (requests.length === 0) return html`<p class="empty">Nothing awaits your review.</p>`;
  return html`<ol class="cards">${requests.map((r) => item(r, now))}</ol>`;
}

function fingerprint(requests: readonly RequestRecord[]): string {
  return requests.map((r) => `${r.id}@${r.version}`).join(',');
}

async function stream(c: Context<AppEnv>, deps: Deps): Promise<Response> {
  securityHeaders(c);
  const signedIn = await readConsoleSession(c, deps);
  if (!signedIn) throw new CountersignError('UNAUTHENTICATED', 'sign in to the console first');
  return streamSSE(c, async (sse) => {
    // A change while the list is being read sets `dirty`, so the next turn reads again at once.
    let dirty = false;
    let wake: (() => void) | undefined;
    const unsubscribe = deps.notifier.subscribeAll(() => {
      dirty = true;
      wake?.();
    });
    sse.onAbort(() => wake?.());
    let last = '';
    let pinged = Date.now();
    try {
      while (!sse.aborted) {
        // A session that ended (sign-out, expiry) stops its stream.
        if (!(await readConsoleSession(c, deps))) break;
        dirty = false;
        const requests = await inboxOf(deps, signedIn);
        const print = fingerprint(requests);
        if (print !== last) {
          last = print;
          await sse.writeSSE({ event: 'inbox', data: JSON.stringify({ count: requests.length, html: inboxList(requests, deps.clock.now()).value }) });
        } else if (Date.now() - pinged >= PING_MS) {
          pinged = Date.now();
          await sse.writeSSE({ event: 'ping', data: '{}' });
        }
        if (dirty || sse.aborted) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
    }
  });
}

export function inboxRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    '/',
    consolePage(deps, async (c, who) => {
      const requests = await inboxOf(deps, who);
      const body = html`<h1>Inbox <span class="count" data-inbox-count-text>${requests.length}</span></h1>
<p class="lede">Requests waiting for your decision, newest first. This list updates by itself.</p>
<section id="inbox" aria-live="polite" aria-label="Requests awaiting your review">${inboxList(requests, deps.clock.now())}</section>`;
      return c.html(page({ title: 'Inbox', viewer: { ...who.viewer, inboxCount: requests.length }, active: 'inbox', body }).value);
    }),
  );
  app.get('/inbox/events', (c) => stream(c, deps));
  return app;
}
