/**
 * The live inbox with the keyboard alone, in Chromium: a reviewer tabs to a
 * request's link; requests arrive and leave through the live stream; the
 * focus stays on the very element that had it (or, when its own request
 * leaves, moves to a neighbour's link), and the live region says exactly
 * what changed — "New request from deploy-bot: POST /refunds on
 * billing-api", "Request req_… approved" — and never a countdown.
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const haveChromium = existsSync(CHROMIUM);

const body = (url: string) => `connections:
  - name: billing-api
    kind: http
    url: ${url}
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: refunds
      when: facts.http.method == "POST" && facts.http.path.startsWith("/refunds")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;

let upstream: Upstream;
let gw: TestGateway;
let browser: TestBrowser;

beforeAll(async () => {
  if (!haveChromium) return;
  upstream = await startUpstream(() => ({ status: 201, body: { ok: true } }));
  gw = await startTestGateway(body(upstream.url));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
});

async function submit(path: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'POST', path, body: { n: 1 } }, reason: 'keyboard test' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

async function approve(id: string): Promise<void> {
  expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
}

const news = (page: Page) => page.locator('#inbox-news').textContent();
/** The href of the focused element, and whether it is the very element marked by `mark`. */
const focused = (page: Page) => page.evaluate('({ href: document.activeElement.getAttribute("href"), same: document.activeElement === window.__marked })') as Promise<{ href: string | null; same: boolean }>;
const mark = (page: Page) => page.evaluate('window.__marked = document.activeElement');

describe.skipIf(!haveChromium)('the live inbox with the keyboard alone', () => {
  it('keeps the focus on its element while requests arrive and leave, and announces only what changed', async () => {
    const first = await submit('/refunds');
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['alice']!);
      await page.locator(`#inbox li[data-request="${first}"]`).waitFor();
      // Tab from the top of the page to the request's link, as a keyboard user would.
      for (let i = 0; i < 30 && (await focused(page)).href !== `/requests/${first}`; i++) await page.keyboard.press('Tab');
      expect((await focused(page)).href).toBe(`/requests/${first}`);
      await mark(page);
      expect(await news(page)).toBe('');

      // A new request arrives through the stream: a row is added above, the focus stays put, the region says so.
      const second = await submit('/refunds');
      await expect.poll(() => news(page), { timeout: 10_000 }).toBe('New request from deploy-bot: POST /refunds on billing-api');
      expect(await page.locator('#inbox li[data-request]').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-request')))).toEqual([second, first]);
      expect(await focused(page)).toEqual({ href: `/requests/${first}`, same: true });

      // Another human approves the new one: its row goes, the region says why, the focus has not moved.
      await approve(second);
      await expect.poll(() => news(page), { timeout: 10_000 }).toBe(`Request ${second} approved`);
      expect(await page.locator('#inbox li[data-request]').count()).toBe(1);
      expect(await focused(page)).toEqual({ href: `/requests/${first}`, same: true });

      // The focused request itself leaves: the focus moves to its neighbour's link, not to the top of the page.
      const third = await submit('/refunds/3');
      await expect.poll(() => news(page), { timeout: 10_000 }).toBe('New request from deploy-bot: POST /refunds/3 on billing-api');
      await approve(first);
      await expect.poll(() => news(page), { timeout: 10_000 }).toBe(`Request ${first} approved`);
      expect((await focused(page)).href).toBe(`/requests/${third}`);

      // Countdowns tick every second, but none is inside a live region, so none is ever announced.
      expect(await page.locator('#inbox time[data-expires]').count()).toBe(1);
      expect(await page.locator('[aria-live] time[data-expires], [role=status] time[data-expires], [role=alert] time[data-expires], [role=log] time[data-expires]').count()).toBe(0);
      expect(await page.locator('#inbox').getAttribute('aria-live')).toBeNull();
    } finally {
      await context.close();
    }
  });
});
