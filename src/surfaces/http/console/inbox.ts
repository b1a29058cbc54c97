/**
 * The inbox: pending requests the signed-in human may review, newest first,
 * each led by the exact action and its risks (never the agent's reason),
 * with who asked, for whom, where and how long is left. The list is
 * live: /inbox/events streams it again (server-sent events) whenever a
 * request changes, in this gateway (the notifier) or another on the same
 * store (a slow poll) — row by row, each with its id, its version and the
 * sentence a screen reader hears when it arrives, and for each request that
 * left the list the sentence that says why (approved, denied, …). The
 * script updates the list in place and keeps the keyboard focus
 * (console.js); countdowns tick outside any live region, so they are never
 * announced.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { CountersignError } from '../../../core/errors.ts';
import type { Principal } from '../../../core/principal.ts';
import type { RequestRecord, RequestStatus } from '../../../core/request.ts';
import { reviewBrief } from '../../../core/review-brief.ts';
import { getRequest } from '../../../service/read.ts';
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
  return html`<li class="card" data-request="${r.id}" data-version="${r.version}">
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

const EMPTY = html`<p class="empty">Nothing awaits your review.</p>`;

/** The list itself, as the page renders it (the stream sends the same rows one by one). */
export function inboxList(requests: readonly RequestRecord[], now: Date): Html {
  if (requests.length === 0) return EMPTY;
  return html`<ol class="cards">${requests.map((r) => item(r, now))}</ol>`;
}

/** What a screen reader hears when a request joins the list: `New request from deploy-bot: POST /refunds on billing-api`. */
export function arrivalNews(r: RequestRecord): string {
  return `New request from ${r.principal.id}: ${reviewBrief(r, 140).action}`;
}

/** What it hears when one leaves: `Request req_… approved` (or denied, expired, cancelled, or no longer for you). */
export function departureNews(id: string, status: RequestStatus | undefined): string {
  switch (status) {
    case 'approved':
    case 'executing':
    case 'succeeded':
    case 'failed':
      return `Request ${id} approved`;
    case 'denied':
    case 'expired':
    case 'cancelled':
      return `Request ${id} ${status}`;
    default:
      // Still pending (this human reviewed it, or may no longer) or no longer visible.
      return `Request ${id} no longer awaits your review`;
  }
}

/** One message of the stream: the rows in order, and why each request that left since the last message left. */
async function inboxMessage(deps: Deps, viewer: Principal, requests: readonly RequestRecord[], before: ReadonlySet<string>): Promise<string> {
  const now = deps.clock.now();
  const here = new Set(requests.map((r) => r.id));
  const gone = await Promise.all(
    [...before].filter((id) => !here.has(id)).map(async (id) => {
      const status = await getRequest(deps, viewer, id).then((r) => r.status, () => undefined);
      return { id, says: departureNews(id, status) };
    }),
  );
  const rows = requests.map((r) => ({ id: r.id, version: r.version, html: item(r, now).value, says: arrivalNews(r) }));
  return JSON.stringify({ count: requests.length, rows, gone, empty: EMPTY.value });
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
    let shown = new Set<string>();
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
          await sse.writeSSE({ event: 'inbox', data: await inboxMessage(deps, signedIn.principal, requests, shown) });
          shown = new Set(requests.map((r) => r.id));
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
<section id="inbox" aria-label="Requests awaiting your review" tabindex="-1">${inboxList(requests, deps.clock.now())}</section>
<p id="inbox-news" class="visually-hidden" role="status" aria-live="polite" aria-atomic="true"></p>`;
      return c.html(page({ title: 'Inbox', viewer: { ...who.viewer, inboxCount: requests.length }, active: 'inbox', body }).value);
    }),
  );
  app.get('/inbox/events', (c) => stream(c, deps));
  return app;
}
