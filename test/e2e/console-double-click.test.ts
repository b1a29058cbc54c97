/**
 * Approve in headless Chromium, against a page that appears under the
 * pointer. The agent's own web page asks a signed-in reviewer to double-click
 * something and closes its window between the clicks, having opened the
 * request page of the agent's request underneath, so that the second click
 * lands on Approve (double-clickjacking; no frame policy helps: nothing is
 * framed). Approve takes no click until the pointer has moved over the page
 * and a moment has passed; the reviewer's own click, after reading, counts.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { opsApiConfig } from '../support/policies.ts';
import { storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let browser: TestBrowser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  upstream = await startUpstream();
  gw = await startTestGateway(opsApiConfig(upstream.url));
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
});

describe.skipIf(!existsSync(CHROMIUM))('Approve under a double-click', () => {
  it('takes no click that lands as the page appears; the reviewer’s own click, once the pointer moved over it, approves', async () => {
    const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/double-click' }, reason: 'release' } });
    expect(held.status).toBe(202);
    const { page } = await browser.page();
    await signInWithKey(page, gw.url, gw.keys['alice']!);
    // The agent's page has the browser open the request page under the pointer, where Approve will be.
    await page.goto(`${gw.url}/requests/${held.body.id}`);
    const approve = page.getByRole('button', { name: /^Approve/ });
    const box = (await approve.boundingBox())!;
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;

    // The second click of the double-click: refused in the page, which says why; nothing is recorded.
    await page.mouse.click(x, y);
    await page.getByText('move the pointer over this page', { exact: false }).waitFor({ timeout: 10_000 });
    expect(page.url()).toBe(`${gw.url}/requests/${held.body.id}`);
    expect(await storedReviewers(gw.deps.store, held.body.id)).toEqual([]);

    // Her own click, after the pointer moved over the page and a moment passed.
    await page.mouse.move(x + 2, y + 1);
    await approve.and(page.locator('[data-deliberate="armed"]')).waitFor({ timeout: 10_000 });
    await page.mouse.click(x, y);
    await page.waitForURL(`${gw.url}/requests/${held.body.id}?done=approve`);
    expect(await storedReviewers(gw.deps.store, held.body.id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
    expect(await storedStatus(gw.deps.store, held.body.id)).not.toBe('pending');
  }, 60_000);
});
