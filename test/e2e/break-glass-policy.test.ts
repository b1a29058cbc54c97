/**
 * Break-glass answers to the policy in force when it runs, not to the one in
 * force when the request was held: a request held while its rule let oncall
 * break the glass, after a reload that took break-glass away, is not run by a
 * break-glass (the upstream never hears of it), and the refusal is on record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { releaseTestStore } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const principals = [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human' as const, groups: ['oncall'] }, { id: 'gina', kind: 'human' as const, groups: [], roles: ['auditor' as const] }];
const dir = mkdtempSync(join(tmpdir(), 'cs-bg-policy-'));
let upstream: Upstream | undefined;
let gw: TestGateway | undefined;

const config = (url: string, breakGlass: string) => `connections:
  - { name: ops, kind: http, url: "${url}" }
policy:
  default: deny
  rules:
    - id: restarts
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
${breakGlass}`;

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await releaseTestStore(join(dir, 'countersign.db'));
  rmSync(dir, { recursive: true, force: true });
});

it('does not run a request on a break-glass the policy in force has since taken away', async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { restarted: true } }));
  gw = await startTestGateway(config(upstream.url, '      breakGlass: { groups: [oncall] }\n'), { principals, dir });
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path: '/restart/x' }, reason: 'restart' } });
  expect(held.status).toBe(202);
  const id = held.body.id as string;
  await gw.stop();
  // The same store, now under a policy whose rule names no break-glass group.
  gw = await startTestGateway(config(upstream.url, ''), { principals, dir });
  const res = await gw.as('erin', `/v1/requests/${id}/break-glass`, { body: { justification: 'checkout is down, INC-4211' } });
  expect(res.body.status).not.toBe('succeeded');
  const now = await gw.as('erin', `/v1/requests/${id}`);
  expect([now.body.status, now.body.error?.code]).toEqual(['denied', 'BREAK_GLASS_NOT_ALLOWED']);
  expect(upstream.calls.filter((c) => c.url === '/restart/x')).toHaveLength(0);
  const denied = await gw.as('gina', `/v1/audit/events?request=${id}&type=request.denied`);
  expect((denied.body.events as { data: { code: string } }[]).map((e) => e.data.code)).toEqual(['BREAK_GLASS_NOT_ALLOWED']);

  // Nothing ran, so there is nothing to review after the fact: the evidence report lists it apart, not as an open finding.
  const after = await gw.as('gina', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'fine' } });
  expect([after.status, after.body.error.code]).toEqual([409, 'REQUEST_ALREADY_DECIDED']);
  const from = new Date(Date.now() - 3600_000).toISOString();
  const to = new Date(Date.now() + 3600_000).toISOString();
  const report = (await gw.as('gina', `/v1/evidence/report?from=${from}&to=${to}&framework=soc2`)).body;
  expect(report.breakGlass).toEqual([]);
  expect(report.breakGlassRefusedAtRun).toEqual([expect.objectContaining({ id, by: 'erin', justification: 'checkout is down, INC-4211', outcome: 'denied', code: 'BREAK_GLASS_NOT_ALLOWED' })]);
  expect(report.summary).toMatchObject({ breakGlass: 0, breakGlassUnreviewed: 0, breakGlassRefusedAtRun: 1 });
  const page = await fetch(`${gw.url}/v1/evidence/report?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&framework=soc2&format=html`, { headers: { authorization: `Bearer ${gw.keys['gina']}` } });
  const html = await page.text();
  expect(html).toContain('Break-glass refused at run (1)');
  expect(html).toContain(id);
  expect(html).not.toContain('without an after-the-fact review');
});
