/**
 * Roles of people, end to end over the real gateway. The audit trail opens
 * only to a human holding `auditor` or `admin` (by configuration, by a
 * configured group, or by a group a token issuer's groupMap grants); never to
 * an agent, not even one acting for an auditor, nor to a provider group
 * nobody mapped. A human without a role sees only the requests that concern
 * them, and every other request is not found, as an unknown id is: over
 * GET, lists, waits, server-sent events, reviews, cancels, list cursors and
 * the console's inbox stream.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { startCliInProcess } from '../support/cli-in-process.ts';
import { getPage, signIn, type ConsoleUser } from '../support/console.ts';
import { startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent', actsFor: 'carol' },
  { id: 'dave-bot', kind: 'agent', actsFor: 'dave' },
  { id: 'other-bot', kind: 'agent' },
  { id: 'audra', kind: 'human', groups: ['ops'], roles: ['auditor'], email: 'audra@example.test' },
  { id: 'pat', kind: 'human', email: 'pat@example.com', groups: ['platform'] }, // admin through the group `platform`
  { id: 'alice', kind: 'human', email: 'alice@example.com', groups: ['sre'] },
  { id: 'bob', kind: 'human', email: 'bob@example.com', groups: ['sre'] },
  { id: 'carol', kind: 'human', email: 'carol@example.com', groups: ['sre'], roles: ['auditor'] }, // deploy-bot acts for her
  { id: 'dave', kind: 'human', email: 'dave@example.com', groups: ['dev'] },
];

let upstream: Upstream;
let idp: TestIssuer;
let agents: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  [idp, agents] = await Promise.all([startTestIssuer('/idp'), startTestIssuer('/agents')]);
  gw = await startTestGateway(
    `roles:
  auditor: [compliance]
  admin: [platform]
identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: human, id: sub, groups: groups, email: email }
      groupMap: { idp-audit: [compliance] }
    - issuer: ${agents.issuer}
      audience: countersign
      principal: { kind: agent, id: sub, actsFor: act.sub }
connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
    tags: { env: prod }
policy:
  default: deny
  rules:
    - id: sre-writes
      when: facts.http.method == "POST" && facts.http.path.startsWith("/sre")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: dev-writes
      when: facts.http.method == "POST" && facts.http.path.startsWith("/dev")
      effect: approve
      approvers: [{ groups: [dev], count: 1 }]
      ttl: 1h
`,
    { principals: PRINCIPALS },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await idp?.close();
  await agents?.close();
});

/** GET/POST with a bearer (an API key of `gw.keys`, or a token). */
async function call(bearer: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

const humanToken = (claims: Record<string, unknown>) => idp.sign({ aud: 'countersign', ...claims });

async function hold(agent: string, path: string): Promise<string> {
  const res = await gw.as(agent, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path }, reason: 'roles test' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

async function auditPaths(): Promise<string[]> {
  const size = (await gw.deps.store.treeHead()).size;
  expect(size).toBeGreaterThanOrEqual(2);
  return ['/v1/audit/events', '/v1/audit/keys', '/v1/audit/checkpoints?latest=true', `/v1/audit/proofs/inclusion?index=0&size=${size}`, `/v1/audit/proofs/consistency?from=1&to=${size}`];
}

describe('the audit trail', () => {
  beforeAll(async () => {
    await hold('deploy-bot', '/sre/seed');
  });

  it('is refused (403 ROLE_REQUIRED) on every route to a human without a role, an agent, and an agent acting for an auditor', async () => {
    const actsForAuditor = await agents.sign({ aud: 'countersign', sub: 'token-bot', act: { sub: 'audra' } });
    const bearers: Record<string, string> = { dave: gw.keys['dave']!, alice: gw.keys['alice']!, 'deploy-bot (acts for carol, an auditor)': gw.keys['deploy-bot']!, 'other-bot': gw.keys['other-bot']!, 'a token agent acting for audra': actsForAuditor };
    for (const path of await auditPaths()) {
      for (const [who, bearer] of Object.entries(bearers)) {
        const r = await call(bearer, path);
        expect(r.status, `${who} ${path}`).toBe(403);
        expect(r.body.error.code, `${who} ${path}`).toBe('ROLE_REQUIRED');
        expect(r.body.error.message).toContain('auditor or admin');
      }
    }
  });

  it('opens on every route to an auditor by configuration and to an admin by a configured group', async () => {
    for (const path of await auditPaths()) {
      for (const who of ['audra', 'carol', 'pat']) expect((await gw.as(who, path)).status, `${who} ${path}`).toBe(200);
    }
  });

  it('opens to a token human whose provider group the issuer maps to an auditor group, not to one whose provider group only bears that name', async () => {
    const mapped = await humanToken({ sub: 'ines', email: 'ines@example.test', email_verified: true, groups: ['idp-audit'] });
    const unmapped = await humanToken({ sub: 'mallory', email: 'mallory@example.test', email_verified: true, groups: ['compliance', 'platform'] });
    for (const path of await auditPaths()) {
      expect((await call(mapped, path)).status, path).toBe(200);
      const refused = await call(unmapped, path);
      expect(refused.status, path).toBe(403);
      expect(refused.body.error.code).toBe('ROLE_REQUIRED');
    }
    expect((await call(mapped, '/v1/whoami')).body).toMatchObject({ id: 'ines@example.test', kind: 'human', groups: ['compliance'], roles: ['auditor'] });
    expect((await call(unmapped, '/v1/whoami')).body).toMatchObject({ id: 'mallory@example.test', groups: [], roles: [] });
  });

  it('gives no role to a token human who only claims an auditor’s email unverified', async () => {
    // Beside configured humans, a token without a verified email names no one at all (principal.unlinked).
    const claims = await humanToken({ sub: 'imposter', email: 'audra@example.test', email_verified: false });
    expect((await call(claims, '/v1/whoami')).body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'principal.unlinked' });
    expect((await call(claims, '/v1/audit/events')).status).toBe(401);
  });

  it('is refused to the CLI of a human without a role: the exit code is not 0 and the message names ROLE_REQUIRED', async () => {
    const run = async (key: string) => {
      const r = await startCliInProcess(['audit', 'proof', 'inclusion', '--index', '0', '--size', '1'], { ...process.env, COUNTERSIGN_URL: gw.url, COUNTERSIGN_KEY: key }).done;
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const refused = await run(gw.keys['dave']!);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toContain('ROLE_REQUIRED');
    expect(refused.out).not.toContain('OK:');
  }, 30_000);
});

describe('whoami', () => {
  it('names the roles: from the configuration, from a group, none for a plain human or any agent', async () => {
    expect((await gw.as('audra', '/v1/whoami')).body.roles).toEqual(['auditor']);
    expect((await gw.as('pat', '/v1/whoami')).body.roles).toEqual(['admin']);
    expect((await gw.as('dave', '/v1/whoami')).body.roles).toEqual([]);
    expect((await gw.as('deploy-bot', '/v1/whoami')).body).toMatchObject({ kind: 'agent', actsFor: 'carol', roles: [] });
  });
});

describe('who sees a request', () => {
  const listIds = async (who: string, query = '') => ((await gw.as(who, `/v1/requests?reviewable=false&limit=1000${query}`)).body.requests as { id: string }[]).map((r) => r.id);

  it('a human without a role cannot GET, wait on, follow, review or cancel another’s unrelated request: 404 as for an unknown id', async () => {
    const id = await hold('deploy-bot', '/sre/hidden'); // sre approves; dave is dev
    const unknown = 'req_doesnotexist000000';
    for (const [path, body] of [
      [`/v1/requests/${id}`, undefined],
      [`/v1/requests/${id}?wait=1`, undefined],
      [`/v1/requests/${id}/events`, undefined],
      [`/v1/requests/${id}/reviews`, { verdict: 'deny' }],
      [`/v1/requests/${id}/cancel`, {}],
    ] as const) {
      const hidden = await gw.as('dave', path, body === undefined ? {} : { body });
      const none = await gw.as('dave', path.replace(id, unknown), body === undefined ? {} : { body });
      expect(hidden.status, path).toBe(404);
      expect(none.status, path).toBe(404);
      expect(hidden.body.error.code, path).toBe('NOT_FOUND');
      // The same words as for an id that names nothing, and never anything of the request.
      expect(hidden.body.error.message.replace(id, unknown), path).toBe(none.body.error.message);
    }
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await listIds('dave')).not.toContain(id);
    expect(await listIds('dave', '&status=pending')).not.toContain(id);
    // An auditor sees it; an sre who may review it sees it; the human it acts for sees it.
    for (const who of ['audra', 'pat', 'alice', 'carol']) {
      expect((await gw.as(who, `/v1/requests/${id}`)).status, who).toBe(200);
      expect(await listIds(who), who).toContain(id);
    }
    // Another agent sees only its own.
    expect((await gw.as('other-bot', `/v1/requests/${id}`)).status).toBe(404);
  });

  it('a human without a role sees what they asked for (through their agent), may review, and reviewed — also once it is decided', async () => {
    const own = await hold('dave-bot', '/sre/for-dave');
    const reviewable = await hold('deploy-bot', '/dev/for-review');
    const reviewedByDave = await hold('other-bot', '/dev/dave-denies');
    expect((await gw.as('dave', `/v1/requests/${reviewedByDave}/reviews`, { body: { verdict: 'deny' } })).status).toBe(200);
    for (const id of [own, reviewable, reviewedByDave]) {
      expect((await gw.as('dave', `/v1/requests/${id}`)).status, id).toBe(200);
      expect(await listIds('dave'), id).toContain(id);
    }
    // Decided by someone else, the request stays open to the reviewer it was for.
    const decided = await hold('other-bot', '/dev/decided');
    expect((await gw.as('audra', `/v1/requests/${decided}/reviews`, { body: { verdict: 'deny' } })).status).toBe(403); // audra is not dev
    expect((await gw.as('dave', `/v1/requests/${decided}/cancel`, { body: {} })).status).toBe(403); // visible: told why, not "not found"
    expect((await gw.as('other-bot', `/v1/requests/${decided}/cancel`, { body: {} })).status).toBe(200);
    expect((await gw.as('dave', `/v1/requests/${decided}`)).body.status).toBe('cancelled');
    // A request for dev reviewers, from an agent acting for carol, is nothing to alice (sre, no role).
    expect((await gw.as('alice', `/v1/requests/${reviewable}`)).status).toBe(404);
  });

  it('the CLI’s `requests list --all --status any` and `requests show` of a human without a role leave out another’s request', async () => {
    const hidden = await hold('deploy-bot', '/sre/cli-hidden');
    const own = await hold('dave-bot', '/sre/cli-own');
    const cli = async (args: string[]) => {
      const r = await startCliInProcess(args, { ...process.env, COUNTERSIGN_URL: gw.url, COUNTERSIGN_KEY: gw.keys['dave']! }).done;
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const listed = await cli(['requests', 'list', '--all', '--status', 'any', '--json']);
    expect(listed.code).toBe(0);
    const ids = (JSON.parse(listed.out) as { id: string }[]).map((r) => r.id);
    expect(ids).toContain(own);
    expect(ids).not.toContain(hidden);
    const shown = await cli(['requests', 'show', hidden]);
    expect(shown.code).not.toBe(0);
    expect(shown.out).toContain('NOT_FOUND');
    expect(shown.out).not.toContain('/sre/cli-hidden');
  }, 30_000);

  it('a list filled past requests one may not see: the page is full when the newest rows are another’s', async () => {
    const mine = await hold('dave-bot', '/sre/older-own');
    for (let i = 0; i < 5; i++) await hold('deploy-bot', `/sre/newer-${i}`);
    const page = (await gw.as('dave', '/v1/requests?reviewable=false&limit=1')).body.requests as { id: string }[];
    expect(page.map((r) => r.id)).toEqual([mine]);
  });

  it('a list cursor naming a request one may not see answers as an unknown one: nothing', async () => {
    await hold('dave-bot', '/sre/before-cursor');
    const hidden = await hold('deploy-bot', '/sre/cursor');
    const user = await signIn(gw.url, gw.keys['dave']!);
    const activity = async (q: string) => (await (await getPage(gw.url, user, `/activity${q}`)).text()).match(/href="\/requests\/(req_[^"]+)"/g) ?? [];
    expect(await activity(`?before=${hidden}`)).toEqual([]);
    expect(await activity('?before=req_doesnotexist000000')).toEqual([]);
    expect((await activity('')).length).toBeGreaterThan(0);
  });

  it('the Activity page and its principal filter show a human without a role only their own requests', async () => {
    const hidden = await hold('deploy-bot', '/sre/activity-hidden');
    const user = await signIn(gw.url, gw.keys['dave']!);
    for (const q of ['', '?principal=carol', '?principal=deploy-bot', '?status=pending']) {
      const page = await (await getPage(gw.url, user, `/activity${q}`)).text();
      expect(page, q).not.toContain(hidden);
    }
    const request = await getPage(gw.url, user, `/requests/${hidden}`);
    expect(request.status).toBe(404);
    expect(await request.text()).not.toContain('/sre/activity-hidden');
    expect((await getPage(gw.url, user, `/requests/${hidden}/input.json`)).status).toBe(404);
    const auditor = await signIn(gw.url, gw.keys['audra']!);
    expect(await (await getPage(gw.url, auditor, '/activity?principal=carol')).text()).toContain(hidden);
  });

  it('the live inbox stream of a human without a role tells nothing of requests they may not see', async () => {
    const user: ConsoleUser = await signIn(gw.url, gw.keys['dave']!);
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/inbox/events`, { headers: { cookie: user.cookie }, signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const frames: string[] = [];
    const nextInbox = async (test: (data: string) => boolean) => {
      for (;;) {
        const parts = text.split('\n\n');
        text = parts.pop() ?? '';
        for (const f of parts) {
          frames.push(f);
          if (f.includes('event: inbox') && test(f)) return f;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the inbox stream ended');
        text += decoder.decode(value, { stream: true });
      }
    };
    const first = await nextInbox(() => true);
    const hidden = await hold('deploy-bot', '/sre/stream-hidden');
    const visible = await hold('other-bot', '/dev/stream-visible');
    const shown = await nextInbox((f) => f.includes(visible));
    controller.abort();
    expect(first).not.toContain(hidden);
    // Every frame up to the one showing dave's request: none names the other, and the count is dave's alone.
    for (const f of frames) expect(f).not.toContain(hidden);
    const data = JSON.parse(shown.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as { count: number; rows: { id: string; html: string; says: string }[] };
    const ids = data.rows.flatMap((r) => [r.id, ...(`${r.html} ${r.says}`.match(/req_[A-Za-z0-9_-]+/g) ?? [])]);
    expect(new Set(ids).size).toBe(data.count);
    expect(ids).not.toContain(hidden);
  }, 30_000);
});

describe('the console', () => {
  let dave: ConsoleUser;
  let audra: ConsoleUser;
  beforeAll(async () => {
    [dave, audra] = await Promise.all([signIn(gw.url, gw.keys['dave']!), signIn(gw.url, gw.keys['audra']!)]);
  });

  it('refuses /audit and its export to a human without a role with a 403 page that says why', async () => {
    const page = await getPage(gw.url, dave, '/audit');
    expect(page.status).toBe(403);
    // Identifiers carry <wbr> break points: read the page without them, so the absence below means something.
    const text = (await page.text()).replaceAll('<wbr>', '');
    expect(text).toContain('ROLE_REQUIRED');
    expect(text).not.toContain('request.submitted');
    const exported = await getPage(gw.url, dave, '/audit/export');
    expect(exported.status).toBe(403);
    expect(await exported.text()).not.toContain('request.submitted');
  });

  it('opens /audit and its export to an auditor', async () => {
    expect((await getPage(gw.url, audra, '/audit')).status).toBe(200);
    const exported = await getPage(gw.url, audra, '/audit/export');
    expect(exported.status).toBe(200);
    expect(await exported.text()).toContain('request.submitted');
  });

  it('links a request’s timeline to the Audit page only for a viewer who may open it', async () => {
    const id = await hold('dave-bot', '/sre/timeline');
    const forDave = await (await getPage(gw.url, dave, `/requests/${id}`)).text();
    expect(forDave).toContain('class="timeline"');
    expect(forDave).not.toContain('href="/audit');
    expect(await (await getPage(gw.url, audra, `/requests/${id}`)).text()).toContain(`href="/audit?request=${id}"`);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('the console in Chromium', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('offers a human without a role no Audit, Coverage or Shadow link, and answers /audit with a 403 page that says why', async () => {
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['dave']!);
      const nav = page.getByRole('navigation', { name: 'Console' });
      await expect.poll(() => nav.getByRole('link', { name: 'Activity' }).count()).toBe(1);
      for (const name of ['Audit', 'Coverage', 'Shadow']) expect(await nav.getByRole('link', { name }).count(), name).toBe(0);
      const res = await page.goto(`${gw.url}/audit`);
      expect(res?.status()).toBe(403);
      await expect.poll(() => page.getByRole('alert').textContent()).toContain('ROLE_REQUIRED');
      expect(await page.locator('body').textContent()).toContain('for auditors and administrators');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('offers an auditor the Audit link, which opens the event log', async () => {
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['audra']!);
      const nav = page.getByRole('navigation', { name: 'Console' });
      await nav.getByRole('link', { name: 'Audit' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Audit');
      expect(page.url()).toBe(`${gw.url}/audit`);
      expect(await nav.getByRole('link', { name: 'Coverage' }).count()).toBe(1);
      await expect.poll(() => page.locator('table').first().textContent()).toContain('request.submitted');
    } finally {
      await context.close();
    }
  }, 60_000);
});
