/**
 * The shadow policy beside live traffic: a gateway runs its live policy and a
 * candidate (`policy.candidate`, a file beside the config). Each action the
 * candidate would decide otherwise gets exactly one `policy.shadow` event in
 * the log, recorded with the request; the live decision is what happens (the
 * action runs, is held or is refused as the live policy says), also when the
 * candidate fails to evaluate. The summary is read through the CLI, REST
 * (audit readers only) and the console.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere } from '../support/audit-gateway.ts';
import { CHROMIUM, launchBrowser, signInWithKey } from '../support/browser.ts';
import { getPage, signIn } from '../support/console.ts';
import { configYaml, DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const LIVE = (url: string) => `connections:
  - name: billing-api
    kind: http
    url: ${url}
    tags: { env: prod }
  - name: ops-api
    kind: http
    url: ${url}
  - name: echo
    kind: exec
    command: /bin/echo
policy:
  default: deny
  candidate: candidate.yaml
  rules:
    - id: reads
      when: connection.kind == "http" && facts.http.method == "GET"
      effect: allow
    - id: refunds
      when: connection.kind == "http" && facts.http.method == "POST" && facts.http.path.startsWith("/refunds")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: echo
      when: connection.kind == "exec"
      effect: allow
`;

// Agrees on plain reads, echo and deletes; differs on admin reads (deny), refunds (two approvers), and fails
// to evaluate for a read of /boom (int() of a reason that is no number).
const CANDIDATE = `default: deny
rules:
  - id: reads
    when: connection.kind == "http" && facts.http.method == "GET" && !facts.http.path.startsWith("/admin")
    effect: allow
  - id: admin-reads-deny
    when: facts.http.path.startsWith("/admin")
    effect: deny
  - id: refunds-two
    when: connection.kind == "http" && facts.http.method == "POST" && facts.http.path.startsWith("/refunds")
    effect: approve
    approvers: [{ groups: [sre], count: 2 }]
  - id: boom
    when: facts.http.path == "/boom" && int(action.reason) > 1
    effect: allow
  - id: echo
    when: connection.kind == "exec"
    effect: allow
`;

const PRINCIPALS = [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human' as const, groups: ['compliance'], roles: ['auditor' as const] }];

let upstream: Upstream;
let gw: TestGateway;
let dir: string;
let configPath: string;

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  dir = mkdtempSync(join(tmpdir(), 'cs-shadow-'));
  writeFileSync(join(dir, 'candidate.yaml'), CANDIDATE);
  const keys: Record<string, string> = {};
  // The candidate is named relative to the config file, which lives in `dir`.
  const yaml = (await storeYaml(configYaml(PRINCIPALS, keys, LIVE(upstream.url), join(dir, 'countersign.db')))).replace('candidate: candidate.yaml', `candidate: ${JSON.stringify(join(dir, 'candidate.yaml'))}`);
  configPath = join(dir, 'countersign.yaml');
  writeFileSync(configPath, yaml.replace(JSON.stringify(join(dir, 'candidate.yaml')), 'candidate.yaml'));
  gw = await startTestGateway(yaml, { dir, keys });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  const { releaseTestStore } = await import('../support/test-store.ts');
  if (dir) await releaseTestStore(join(dir, 'countersign.db'));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function act(connection: string, input: unknown, reason = 'check'): Promise<{ status: number; id: string; body: any }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason } });
  return { status: res.status, id: (res.body.id ?? res.body.request?.id) as string, body: res.body };
}

async function shadowEvents(): Promise<any[]> {
  const res = await gw.as('erin', '/v1/audit/events?type=policy.shadow&limit=1000');
  expect(res.status).toBe(200);
  return res.body.events;
}

describe('a candidate beside the live policy', { timeout: 120_000 }, () => {
  const ids: Record<string, string> = {};

  it('records one policy.shadow event per differing action, with the request, and leaves the live decision alone', async () => {
    const calls = () => upstream.calls.length;
    const c0 = calls();
    const plain = await act('billing-api', { method: 'GET', path: '/items' });
    expect([plain.status, plain.body.status]).toEqual([200, 'succeeded']);
    const admin = await act('billing-api', { method: 'GET', path: '/admin/users' });
    // Live allows it, and it runs: the candidate's deny is never enforced.
    expect([admin.status, admin.body.status]).toEqual([200, 'succeeded']);
    const refund = await act('billing-api', { method: 'POST', path: '/refunds', body: { invoice: 'inv_1' } });
    expect([refund.status, refund.body.status]).toEqual([202, 'pending']);
    expect(refund.body.decision.approvers).toEqual([{ rule: 'refunds', groups: ['sre'], principals: [], count: 1 }]);
    const opsRead = await act('ops-api', { method: 'GET', path: '/items' });
    const boom = await act('ops-api', { method: 'GET', path: '/boom' }, 'not a number');
    expect([boom.status, boom.body.status]).toEqual([200, 'succeeded']);
    const echo = await act('echo', { args: ['hi'] });
    expect([echo.status, echo.body.status]).toEqual([200, 'succeeded']);
    const deleted = await act('ops-api', { method: 'DELETE', path: '/x' });
    expect(deleted.status).toBe(403);
    const opsAdmin = await act('ops-api', { method: 'GET', path: '/admin/keys' });
    expect(opsAdmin.body.status).toBe('succeeded');
    // Five ran upstream (the held refund and the denied delete did not).
    expect(calls() - c0).toBe(5);
    Object.assign(ids, { plain: plain.id, admin: admin.id, refund: refund.id, opsRead: opsRead.id, boom: boom.id, echo: echo.id, deleted: deleted.id, opsAdmin: opsAdmin.id });

    const events = await shadowEvents();
    // The last differing action's event is there, so the events of the ones before it would be too.
    expect(events.map((e) => e.requestId)).toContain(ids['opsAdmin']);
    expect(events.map((e) => e.requestId).sort()).toEqual([ids['admin'], ids['refund'], ids['boom'], ids['opsAdmin']].sort());
    const by = (id: string | undefined) => events.find((e) => e.requestId === id)!;
    const liveHash = by(ids['admin']).data.live.policyHash as string;
    expect(by(ids['admin']).data).toEqual({
      requestId: ids['admin'],
      principal: 'deploy-bot',
      connection: 'billing-api',
      operation: 'http.request',
      live: { effect: 'allow', rules: ['reads'], approvers: [], policyHash: liveHash },
      candidate: { effect: 'deny', rules: ['admin-reads-deny'], approvers: [], policyHash: expect.stringMatching(/^sha256:/), errors: [] },
    });
    expect(by(ids['admin']).data.candidate.policyHash).not.toBe(liveHash);
    expect(by(ids['refund']).data.candidate).toMatchObject({ effect: 'approve', rules: ['refunds-two'], approvers: [{ rule: 'refunds-two', groups: ['sre'], principals: [], count: 2 }] });
    expect(by(ids['boom']).data.live).toMatchObject({ effect: 'allow', rules: ['reads'] });
    expect(by(ids['boom']).data.candidate).toMatchObject({ effect: 'deny', errors: [{ rule: 'boom', message: expect.any(String) }] });
    // No copy of the input: request.submitted has it (masked where configured).
    expect(JSON.stringify(by(ids['refund']).data)).not.toContain('inv_1');
  });

  it('notes the candidate in policy.loaded', async () => {
    const res = await gw.as('erin', '/v1/audit/events?type=policy.loaded');
    const shadow = (await shadowEvents())[0];
    expect(res.body.events.at(-1).data.candidate).toMatchObject({ hash: shadow.data.candidate.policyHash, file: join(dir, 'candidate.yaml') });
  });

  it('summarises by rule and transition in the CLI', async () => {
    const r = await runCliHere(['policy', 'shadow', '--config', configPath, '--since', '1d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('4 actions since');
    expect(r.stdout).toContain(`rule admin-reads-deny, no longer rule reads: 2 actions allow → deny (examples: ${ids['admin']}, ${ids['opsAdmin']})`);
    expect(r.stdout).toContain(`rule refunds-two, no longer rule refunds: 1 action approve → approve (examples: ${ids['refund']})`);
    expect(r.stdout).toContain(`rule boom: 1 action allow → deny (examples: ${ids['boom']})`);
    const search = await runCliHere(['audit', 'search', '--config', configPath, '--type', 'policy.shadow']);
    expect(search.stdout).toContain('4 events');
    expect(search.stdout).toMatch(new RegExp(`policy\\.shadow\\s+${ids['boom']}  -  live allow, candidate deny`));
    const json = await runCliHere(['policy', 'shadow', '--config', configPath, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ count: 4 });
  });

  it('serves GET /v1/policy/shadow to audit readers only', async () => {
    for (const who of ['alice', 'deploy-bot']) {
      const res = await gw.as(who, '/v1/policy/shadow?since=1d');
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('ROLE_REQUIRED');
    }
    const ok = await gw.as('erin', '/v1/policy/shadow?since=1d');
    expect(ok.status).toBe(200);
    expect(ok.body.count).toBe(4);
    expect(ok.body.candidate).toBe(ok.body.recent[0].candidate.policyHash);
    expect(ok.body.recent[0].requestId).toBe(ids['opsAdmin']);
    expect(ok.body.groups[0]).toMatchObject({ transition: 'allow → deny', nowMatching: ['admin-reads-deny'], noLongerMatching: ['reads'], count: 2 });
    const bad = await gw.as('erin', '/v1/policy/shadow?since=yesterday');
    expect(bad.status).toBe(400);
  });

  it("keeps the candidate's verdict and the log's numbering off a request's timeline for a reviewer without a role", async () => {
    const [alice, erin] = await Promise.all([signIn(gw.url, gw.keys['alice']!), signIn(gw.url, gw.keys['erin']!)]);
    // alice (sre) may review the held refund, which has a policy.shadow event.
    const forAlice = await getPage(gw.url, alice, `/requests/${ids['refund']}`);
    expect(forAlice.status).toBe(200);
    // Identifiers carry <wbr> break points (after dots): read the page without them.
    const text = (await forAlice.text()).replaceAll('<wbr>', '');
    expect(text).toContain('class="timeline"');
    expect(text).toContain('Held for approval');
    expect(text).not.toContain('policy.shadow');
    expect(text).not.toMatch(/audit event \d+/);
    const forErin = (await (await getPage(gw.url, erin, `/requests/${ids['refund']}`)).text()).replaceAll('<wbr>', '');
    expect(forErin).toContain('policy.shadow');
    expect(forErin).toMatch(/audit event \d+/);
  });

  it.skipIf(!existsSync(CHROMIUM))('shows the console page to an auditor and a 403 page to others', async () => {
    const browser = await launchBrowser();
    try {
      const { page } = await browser.page();
      await signInWithKey(page, gw.url, gw.keys['erin']!);
      await page.goto(`${gw.url}/shadow`);
      await expect(page.getByRole('heading', { name: 'Shadow policy' }).isVisible()).resolves.toBe(true);
      const groups = await page.locator('#shadow-groups tbody tr').allInnerTexts();
      expect(groups[0]).toContain('rule admin-reads-deny');
      expect(groups[0]).toContain('allow → deny');
      expect(await page.locator('#shadow-recent tbody tr').count()).toBe(4);
      expect(await page.locator('#shadow-recent').innerText()).toContain(ids['boom']!);

      const other = await browser.page();
      await signInWithKey(other.page, gw.url, gw.keys['alice']!);
      const res = await other.page.goto(`${gw.url}/shadow`);
      expect(res?.status()).toBe(403);
      expect(await other.page.getByRole('alert').innerText()).toContain('ROLE_REQUIRED');
    } finally {
      await browser.close();
    }
  });
});
