/**
 * Break-glass in the console, in a real browser: the request page shows the
 * escalation ladder and, to a human of a break-glass group, a form whose
 * justification is required (by the browser, and by the server for a form
 * sent without it); breaking the glass runs the action at once. Another human
 * then sees it flagged and reviews it after the fact from the same page.
 *
 * Then, on the same store: break-glass answers to the policy in force when it
 * runs, not to the one in force when the request was held. A request held
 * while its rule let oncall break the glass, after a restart on a policy that
 * took break-glass away, is not run by a break-glass (the upstream never hears
 * of it), and the refusal is on record. Likewise a request held while its
 * rule asked for no step-up, broken without a passkey after a restart on a
 * policy that now requires one (`stepUp: webauthn`): denied STEP_UP_REQUIRED
 * at run, and the upstream never hears of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clickAsReader, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { postForm, signIn } from '../support/console.ts';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { releaseTestStore } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const principals = [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human' as const, groups: ['oncall'] }, { id: 'gina', kind: 'human' as const, groups: [], roles: ['auditor' as const] }];
const dir = mkdtempSync(join(tmpdir(), 'cs-bg-console-'));
let upstream: Upstream;
let gw: TestGateway | undefined;
let browser: TestBrowser;

const config = (url: string, breakGlass: string) => `connections:
  - { name: ops, kind: http, url: "${url}" }
policy:
  default: deny
  rules:
    - id: restarts
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      escalate: [{ after: 20m, to: { groups: [oncall] } }]
${breakGlass}`;

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(config(upstream.url, '      breakGlass: { groups: [oncall] }\n'), { principals, dir });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
  await releaseTestStore(join(dir, 'countersign.db'));
  rmSync(dir, { recursive: true, force: true });
});

it('breaks the glass with a required justification, runs at once, and takes an after-the-fact review', async () => {
  const gw1 = gw!;
  const held = await gw1.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path: '/restart' }, reason: 'worker stuck' } });
  expect(held.status).toBe(202);
  const id = held.body.id as string;

  // A form sent without a justification is refused by the server too.
  const erinForm = await signIn(gw1.url, gw1.keys['erin']!);
  const bare = await postForm(gw1.url, erinForm, `/requests/${id}/break-glass`, { justification: '', _csrf: erinForm.csrf });
  expect(bare.status).toBe(400);
  expect(await bare.text()).toContain('JUSTIFICATION_REQUIRED');

  const { page } = await browser.page();
  await signInWithKey(page, gw1.url, gw1.keys['erin']!);
  await page.goto(`${gw1.url}/requests/${id}`);
  await expect(page.locator('ol.ladder li').first().textContent()).resolves.toMatch(/To group oncall \(rule restarts\): due/);
  const field = page.getByLabel(/Justification/);
  expect(await field.getAttribute('required')).not.toBeNull();
  await field.fill('payments worker stuck, INC-77');
  await page.getByRole('button', { name: 'Break the glass and run it' }).click();
  await page.waitForURL(`${gw1.url}/requests/${id}?done=break-glass`);
  await expect(page.locator('[role=status]').textContent()).resolves.toContain('You broke the glass');
  await expect(page.locator('#break-glass').textContent()).resolves.toContain('payments worker stuck, INC-77');
  expect(upstream.calls.filter((c) => c.url === '/restart')).toHaveLength(1);
  // erin may not review her own break-glass: no form for her.
  expect(await page.getByRole('button', { name: 'It was warranted' }).count()).toBe(0);

  const other = await browser.page();
  await signInWithKey(other.page, gw1.url, gw1.keys['alice']!);
  await other.page.goto(`${gw1.url}/requests/${id}`);
  await expect(other.page.locator('#after-review').textContent()).resolves.toContain('Not reviewed after the fact yet');
  await other.page.getByLabel(/Comment/).fill('checked the incident; fine');
  await clickAsReader(other.page, other.page.getByRole('button', { name: 'It was warranted' }));
  await other.page.waitForURL(`${gw1.url}/requests/${id}?done=approve`);
  await expect(other.page.locator('#after-review').textContent()).resolves.toMatch(/Reviewed after the fact by alice .*warranted — .?checked the incident; fine/);
  const rest = await gw1.as('alice', `/v1/requests/${id}`);
  expect(rest.body.breakGlass.review).toMatchObject({ by: 'alice', verdict: 'approve' });
}, 60_000);

it('does not run a request on a break-glass the policy in force has since taken away', async () => {
  const held = await gw!.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path: '/restart/x' }, reason: 'restart' } });
  expect(held.status).toBe(202);
  const id = held.body.id as string;
  const keys = gw!.keys;
  await gw!.stop();
  gw = undefined;
  // The same store, now under a policy whose rule names no break-glass group.
  gw = await startTestGateway(config(upstream.url, ''), { principals, dir, priorKeys: keys });
  const res = await gw.as('erin', `/v1/requests/${id}/break-glass`, { body: { justification: 'checkout is down, INC-4211' } });
  expect(res.body.status).not.toBe('succeeded');
  const now = await gw.as('erin', `/v1/requests/${id}`);
  expect([now.body.status, now.body.error?.code]).toEqual(['denied', 'BREAK_GLASS_NOT_ALLOWED']);
  expect(upstream.calls.filter((c) => c.url === '/restart/x')).toHaveLength(0);
  const denied = await gw.as('gina', `/v1/audit/events?request=${id}&type=request.denied`);
  expect((denied.body.events as { data: { code: string } }[]).map((e) => e.data.code)).toEqual(['BREAK_GLASS_NOT_ALLOWED']);

  // Nothing ran, so there is nothing to review after the fact: the evidence report lists it apart, not as an open
  // finding (the break-glass of the first test ran and was reviewed, so no finding is open).
  const after = await gw.as('gina', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'fine' } });
  expect([after.status, after.body.error.code]).toEqual([409, 'REQUEST_ALREADY_DECIDED']);
  const from = new Date(Date.now() - 3600_000).toISOString();
  const to = new Date(Date.now() + 3600_000).toISOString();
  const report = (await gw.as('gina', `/v1/evidence/report?from=${from}&to=${to}&framework=soc2`)).body;
  expect((report.breakGlass as { id: string }[]).map((b) => b.id)).not.toContain(id);
  expect(report.breakGlassRefusedAtRun).toEqual([expect.objectContaining({ id, by: 'erin', justification: 'checkout is down, INC-4211', outcome: 'denied', code: 'BREAK_GLASS_NOT_ALLOWED' })]);
  expect(report.summary).toMatchObject({ breakGlass: 1, breakGlassUnreviewed: 0, breakGlassRefusedAtRun: 1 });
  const page = await fetch(`${gw.url}/v1/evidence/report?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&framework=soc2&format=html`, { headers: { authorization: `Bearer ${gw.keys['gina']}` } });
  const html = await page.text();
  expect(html).toContain('Break-glass refused at run (1)');
  expect(html).toContain(id);
  expect(html).not.toContain('without an after-the-fact review');
});

it('does not run a break-glass without a passkey once the policy in force requires a step-up', async () => {
  const withGlass = '      breakGlass: { groups: [oncall] }\n';
  await gw!.stop();
  gw = undefined;
  gw = await startTestGateway(config(upstream.url, withGlass), { principals, dir });
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path: '/restart/y' }, reason: 'restart' } });
  expect(held.status).toBe(202);
  const id = held.body.id as string;
  expect(held.body.stepUp ?? null).toBeNull();
  const keys = gw.keys;
  await gw.stop();
  gw = undefined;
  // The same store, now under a policy whose rule requires a passkey for approvals and break-glass alike.
  gw = await startTestGateway(config(upstream.url, `${withGlass}      stepUp: webauthn\n`), { principals, dir, priorKeys: keys });
  // Held before the step-up: breaking it is accepted without a passkey, and refused by the check just before running.
  const res = await gw.as('erin', `/v1/requests/${id}/break-glass`, { body: { justification: 'disk full, INC-9000' } });
  expect(res.body.status).not.toBe('succeeded');
  const now = await gw.as('erin', `/v1/requests/${id}`);
  expect([now.body.status, now.body.error?.code]).toEqual(['denied', 'STEP_UP_REQUIRED']);
  expect(upstream.calls.filter((c) => c.url === '/restart/y')).toHaveLength(0);
  const events = (await gw.as('gina', `/v1/audit/events?request=${id}`)).body.events as { type: string; data: Record<string, unknown> }[];
  expect(events.filter((e) => e.type === 'request.break_glass').map((e) => e.data['stepUp'] ?? null)).toEqual([null]);
  expect(events.filter((e) => e.type === 'request.denied').map((e) => [e.data['by'], e.data['code']])).toEqual([['execute-check', 'STEP_UP_REQUIRED']]);
  expect(events.filter((e) => e.type === 'request.executing')).toEqual([]);
});
