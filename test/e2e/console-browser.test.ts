/**
 * The web console in a real browser (Debian's Chromium through
 * playwright-core): a reviewer signs in, sees a held request arrive without a
 * reload, approves it and the agent's waiting call completes; the requester
 * side gets no buttons and forged posts change nothing; agent text with
 * markup renders as text; the simulator answers.
 *
 * Screenshots for the README: COUNTERSIGN_SCREENSHOTS=docs/screenshots
 * (`npm run screenshots`) writes them there; otherwise to a temporary folder.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, clickAsReader, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { requestStatus, reviewers } from '../support/sqlite.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const msg = `\n*** ${CHROMIUM} is missing: the console's browser tests cannot run (apt-get install -y chromium) ***\n`;
  if (process.env['CI'] === 'true') throw new Error(msg);
  console.warn(msg);
}

const body = (url: string) => `connections:
  - name: billing-api
    kind: http
    url: ${url}
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: refunds
      when: action.connection == "billing-api" && facts.http.method == "POST" && facts.http.path.startsWith("/refunds")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: prod-sql-writes
      when: action.connection == "orders-db" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 30m
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
`;

let upstream: Upstream;
let gw: TestGateway;
let browser: TestBrowser;
let shots: string;
const ownShots = !process.env['COUNTERSIGN_SCREENSHOTS'];

beforeAll(async () => {
  if (!haveChromium) return;
  shots = ownShots ? mkdtempSync(join(tmpdir(), 'cs-shots-')) : resolve(process.env['COUNTERSIGN_SCREENSHOTS']!);
  mkdirSync(shots, { recursive: true });
  upstream = await startUpstream((call) => ({ status: 201, body: { refund: 're_1', path: call.url } }));
  gw = await startTestGateway(body(upstream.url));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
  if (ownShots && shots) rmSync(shots, { recursive: true, force: true });
});

async function submit(input: unknown, reason: string, connection = 'billing-api'): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason } });
  expect(res.status).toBe(202);
  return { id: res.body.id, digest: res.body.digest };
}

/** Fails the test if the page ever opens a dialog (alert from injected script). */
function noDialogs(page: Page): string[] {
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return dialogs;
}

describe.skipIf(!haveChromium)('web console in Chromium', () => {
  it('shows a held request live, approves it, and the agent’s waiting call completes', async () => {
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['alice']!);
      await expect.poll(() => page.locator('#inbox').textContent()).toContain('Nothing awaits your review');
      // Marks this document: if the list came by a reload, the mark would be gone.
      await page.evaluate('window.__sameDocument = true');

      const held = await submit(
        { method: 'POST', path: '/refunds', headers: { 'content-type': 'application/json' }, body: { invoice: 'inv_1042', amount: 4900, currency: 'EUR' } },
        'Customer was charged twice for invoice inv_1042 (ticket #8812); refunding the duplicate charge.',
      );
      await submit({ sql: "update orders set status = 'void' where id = $1 and status = 'open'", params: [7] }, 'Order 7 was created by a load test.', 'orders-db');
      const waiting = gw.as('deploy-bot', `/v1/requests/${held.id}?wait=30&from=pending`);

      const card = page.locator('#inbox .card', { hasText: 'POST /refunds' });
      await card.waitFor({ timeout: 10_000 });
      await expect.poll(() => page.locator('nav [data-inbox-count]').textContent()).toBe('2');
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      expect(await card.textContent()).toMatch(/deploy-bot[\s\S]*carol[\s\S]*billing-api[\s\S]*env: prod[\s\S]*left/);
      await page.screenshot({ path: join(shots, 'inbox.png') });

      await card.getByRole('link').click();
      await page.waitForURL(`${gw.url}/requests/${held.id}`);
      await page.locator('#comment').fill('Duplicate charge confirmed in the billing dashboard.');
      await page.screenshot({ path: join(shots, 'request.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(shots, 'request-phone.png') });
      await page.setViewportSize({ width: 1280, height: 800 });

      // billing-api is prod and PII: the browser keeps the form until the confirmation is ticked.
      await page.getByRole('checkbox', { name: /I understand this runs POST \/refunds on billing-api on production/ }).check();
      await clickAsReader(page, page.getByRole('button', { name: 'Approve and run POST /refunds on billing-api' }));
      await page.getByText('Your approval is recorded.').waitFor();
      const done = await waiting;
      expect(done.status).toBe(200);
      expect(done.body.status).not.toBe('pending');
      expect(reviewers(gw.dbPath, held.id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
      await eventually(async () => (requestStatus(gw.dbPath, held.id) === 'succeeded' ? true : undefined));
      expect(upstream.calls.filter((c) => c.url === '/refunds')).toHaveLength(1);

      await page.reload();
      expect(await page.locator('.timeline').textContent()).toMatch(/Submitted by deploy-bot[\s\S]*Held for approval[\s\S]*alice approved[\s\S]*Approved[\s\S]*Executed: succeeded/);
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('shows the exact action and Approve above the fold, with a 4,000-character reason collapsed below', async () => {
    const reason = `Routine and pre-approved by security; nothing to see. ${'All checks passed. '.repeat(207)}`.slice(0, 4000);
    const held = await submit({ method: 'POST', path: '/refunds', body: { invoice: 'inv_long_reason' } }, reason);
    const { context, page } = await browser.page();
    try {
      await page.setViewportSize({ width: 1280, height: 800 });
      await signInWithKey(page, gw.url, gw.keys['bob']!);
      await page.goto(`${gw.url}/requests/${held.id}`);
      const action = page.locator('h1.action-line');
      expect(await action.textContent()).toBe('POST /refunds on billing-api');
      const approve = page.getByRole('button', { name: 'Approve and run POST /refunds on billing-api' });
      const confirm = page.getByRole('checkbox', { name: /I understand this runs POST \/refunds on billing-api/ });
      for (const el of [action, page.locator('p.risk'), approve, confirm]) {
        const box = await el.boundingBox();
        expect(box).not.toBeNull();
        expect(box!.y + box!.height).toBeLessThan(800);
      }
      // The claim shows its first lines; the rest is in a closed <details>, out of sight until asked for.
      expect(await page.locator('details.claim').getAttribute('open')).toBeNull();
      expect(await page.locator('details.claim blockquote.reason').isVisible()).toBe(false);
      await page.locator('details.claim summary').click();
      expect(await page.locator('details.claim blockquote.reason').textContent()).toBe(reason.trim());
    } finally {
      await context.close();
    }
  });

  it('gives the requester side no Approve button and refuses a forged review', async () => {
    const held = await submit({ method: 'POST', path: '/refunds', body: { invoice: 'inv_self' } }, 'carol wants this');
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['carol']!); // deploy-bot acts for carol
      await page.goto(`${gw.url}/requests/${held.id}`);
      await page.locator('#no-review').waitFor();
      expect(await page.locator('#no-review').textContent()).toContain('You asked for this request');
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);

      // A hand-made POST from her own page, with her valid CSRF token: the review rules still refuse it.
      const csrf = await page.locator('input[name=_csrf]').first().inputValue();
      const status = await page.evaluate(
        async ({ id, digest, csrf }) => (await fetch(`/requests/${id}/review`, { method: 'POST', body: new URLSearchParams({ verdict: 'approve', digest, _csrf: csrf }) })).status,
        { id: held.id, digest: held.digest, csrf },
      );
      expect(status).toBe(403);
      expect(requestStatus(gw.dbPath, held.id)).toBe('pending');
      expect(reviewers(gw.dbPath, held.id)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses a review form posted from another site while an approver is signed in', async () => {
    const held = await submit({ method: 'POST', path: '/refunds', body: { invoice: 'inv_csrf' } }, 'cross-site test');
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form method="post" action="${gw.url}/requests/${held.id}/review"><input name="verdict" value="approve"><input name="digest" value="${held.digest}"></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const port = (evil.address() as { port: number }).port;
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['bob']!);
      const answer = page.waitForResponse((r) => r.url().endsWith(`/requests/${held.id}/review`));
      await page.goto(`http://localhost:${port}/`);
      expect([401, 403]).toContain((await answer).status());
      expect(requestStatus(gw.dbPath, held.id)).toBe('pending');
      expect(reviewers(gw.dbPath, held.id)).toEqual([]);
    } finally {
      await context.close();
      await new Promise<void>((r) => evil.close(() => r()));
    }
  });

  it('renders agent text with markup as text: no script runs, the text is visible', async () => {
    const payload = '<script>window.__xss = 1; alert(1)</script>';
    const sql = await submit({ sql: `update orders set note = '</pre><img src=x onerror="window.__xss=2">' where id = 1` }, `reason ${payload}`, 'orders-db');
    const http = await submit({ method: 'POST', path: '/refunds', body: { note: payload, '<b>key</b>': '"><svg onload=alert(3)>' } }, payload);
    const { context, page } = await browser.page();
    const dialogs = noDialogs(page);
    try {
      await signInWithKey(page, gw.url, gw.keys['bob']!);
      await page.locator('#inbox .card', { hasText: 'onerror' }).waitFor(); // the SQL summary, as text
      for (const id of [sql.id, http.id]) {
        await page.goto(`${gw.url}/requests/${id}`);
        await page.locator('blockquote.reason').waitFor();
      }
      expect(await page.locator('blockquote.reason').textContent()).toBe(payload);
      await page.getByText('"><svg onload=alert(3)>').first().waitFor();
      await page.goto(`${gw.url}/requests/${sql.id}`);
      expect(await page.locator('pre.sql').textContent()).toContain(`'</pre><img src=x onerror="window.__xss=2">'`);
      expect(await page.locator('pre.sql img').count()).toBe(0);
      expect(await page.evaluate('window.__xss')).toBeUndefined();
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('answers the policy simulator', async () => {
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['alice']!);
      await page.getByRole('link', { name: 'Policy' }).click();
      expect(await page.locator('table').first().textContent()).toContain('prod-sql-writes');
      await page.getByLabel('Principal').selectOption('deploy-bot');
      await page.getByLabel('Connection').selectOption('orders-db');
      await page.getByLabel('Input (JSON)').fill('{"sql": "delete from orders where id = $1", "params": [7]}');
      await page.getByRole('button', { name: 'Simulate' }).click();
      const result = page.locator('#simulation');
      await result.waitFor();
      expect(await result.textContent()).toMatch(/As deploy-bot: approve[\s\S]*prod-sql-writes[\s\S]*1 of group sre/);
      await page.getByLabel('Input (JSON)').fill('{"sql": "select from"');
      await page.getByRole('button', { name: 'Simulate' }).click();
      expect(await page.locator('#simulation').textContent()).toContain('INVALID_JSON');
    } finally {
      await context.close();
    }
  });
});
