/**
 * What a reviewer sees in the console and what an approval takes: the exact
 * action leads the page and names what Approve does, the agent's reason is
 * its unverified claim and collapsed, a production or PII approval needs a
 * confirmation the server checks, and a huge input leaves the page small
 * with a download of the exact input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, postForm, signIn, type ConsoleUser } from '../support/console.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let alice: ConsoleUser;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}
    tags: { env: prod, data: pii }
  - name: staging-api
    kind: http
    url: ${upstream.url}
    tags: { env: staging }
policy:
  default: deny
  rules:
    - id: writes
      when: facts.http.method == "POST" && !facts.http.path.startsWith("/two")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: two
      when: facts.http.path.startsWith("/two")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
`);
  alice = await signIn(gw.url, gw.keys['alice']!);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function hold(connection: string, input: unknown, reason = 'routine'): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason } });
  expect(res.status).toBe(202);
  return { id: res.body.id, digest: res.body.digest };
}

const approveButton = (page: string) => /<button type="submit" name="verdict" value="approve"[^>]*>([^<]*)<\/button>/.exec(page)?.[1];

describe('the request page', () => {
  it('leads with the exact action and its risks, and puts the agent’s long reason after it as a collapsed, unverified claim', async () => {
    const reason = `All checks passed, security signed off. ${'This is fine. '.repeat(260)}The end.`;
    const { id } = await hold('billing-api', { method: 'POST', path: '/refunds', body: { invoice: 'inv_1' } }, reason);
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toMatch(/<h1 class="action-line"><code>POST \/refunds on billing-api<\/code><\/h1>/);
    expect(page).toContain('<strong class="risk-flag">writes</strong> · <strong class="risk-flag">prod</strong> · <strong class="risk-flag">PII</strong> · <strong class="risk-flag">irreversible</strong>');
    expect(page).toContain('Agent’s claim <span class="small">(unverified)</span>');
    // The action comes first; the reason shows its first 300 characters, the rest only in a closed <details>.
    const full = page.indexOf(reason);
    expect(full).toBeGreaterThan(page.indexOf('<h1 class="action-line">'));
    expect(page.slice(0, full)).toMatch(/<details class="claim"><summary>Show more[^<]*<\/summary><blockquote class="reason">$/);
    expect(page).toContain(`<blockquote class="reason preview">${reason.slice(0, 300)}…</blockquote>`);
    expect(page.split('This is fine.').length - 1).toBe(260 + Math.floor((300 - 40) / 14));
    expect(approveButton(page)).toBe('Approve and run POST /refunds on billing-api');
  });

  it('says which approval of how many it is when this one does not complete the quorum', async () => {
    const { id } = await hold('staging-api', { method: 'POST', path: '/two/step' });
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(approveButton(page)).toBe('Approve (1 of 2)');
    expect(page).not.toContain('name="confirm"');
    const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', _csrf: alice.csrf });
    expect(res.status).toBe(303);
    const bob = await signIn(gw.url, gw.keys['bob']!);
    expect(approveButton(await (await getPage(gw.url, bob, `/requests/${id}`)).text())).toBe('Approve and run POST /two/step on staging-api');
  });
});

describe('hidden characters in what the agent sent', () => {
  it('are shown as U+FFFD on the request page and the inbox, never reordering or hiding a word', async () => {
    // U+202E draws `DELETE orders` as `sredro ETELED`; isolates, zero-width and U+2028 hide or break text.
    const reason = 'Routine.\u2028Risk: read-only\u2066 \u202Esredro ETELED\u202C\u2069\u200B\uFEFF';
    const { id } = await hold('billing-api', { method: 'POST', path: '/refunds', body: { note: 'ok\u202E\u200Dfdp.exe', [`k\u2067ey`]: 1 } }, reason);
    const hidden = /[\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/;
    for (const path of [`/requests/${id}`, '/']) {
      const page = await (await getPage(gw.url, alice, path)).text();
      expect(page).toContain(path === '/' ? 'POST /refunds on billing-api' : 'Routine.\uFFFDRisk: read-only\uFFFD \uFFFDsredro ETELED\uFFFD\uFFFD\uFFFD');
      expect(page).not.toMatch(hidden);
    }
  });
});

describe('a reason of many short lines', () => {
  it('is previewed in at most 8 lines, the rest behind Show more', async () => {
    const reason = Array.from({ length: 150 }, (_, i) => `line ${i}`).join('\n');
    const { id } = await hold('staging-api', { method: 'POST', path: '/lines' }, reason);
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    const preview = /<blockquote class="reason preview">([^<]*)<\/blockquote>/.exec(page)?.[1];
    expect(preview?.split('\n')).toHaveLength(8);
    expect(page).toContain('<summary>Show more (');
  });
});

describe('the inbox', () => {
  it('leads each request with the exact action and its risk line, not the agent’s reason', async () => {
    const { id } = await hold('billing-api', { method: 'POST', path: '/refunds/inbox' }, 'Nothing to worry about, approve quickly.');
    const inbox = await (await getPage(gw.url, alice, '/')).text();
    const item = inbox.slice(inbox.indexOf(`<a class="card-link" href="/requests/${id}">`));
    expect(item).toMatch(/^<a class="card-link" href="[^"]+"><span class="summary">POST \/refunds\/inbox on billing-api<\/span><\/a>\s*<div class="meta risk">Risk: <strong class="risk-flag">writes · prod · PII · irreversible<\/strong><\/div>/);
    expect(item.slice(0, item.indexOf('</li>'))).not.toContain('Nothing to worry about');
  });
});

describe('a production or PII approval', () => {
  it('is refused by the server without the ticked confirmation, and counts with it', async () => {
    const { id, digest } = await hold('billing-api', { method: 'POST', path: '/refunds', body: { invoice: 'inv_2' } });
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toContain('<input type="checkbox" name="confirm" value="yes" required> I understand this runs POST /refunds on billing-api on production, on personal data (PII).');
    const audit = (await storedAudit(gw.deps.store)).length;
    for (const fields of [{}, { confirm: 'no' }, { confirm: '' }] as Record<string, string>[]) {
      const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest, _csrf: alice.csrf, ...fields });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('CONFIRMATION_REQUIRED');
    }
    expect(await storedReviewers(gw.deps.store, id)).toEqual([]);
    expect(await storedStatus(gw.deps.store, id)).toBe('pending');
    expect((await storedAudit(gw.deps.store)).length).toBe(audit);
    const ok = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'approve', digest, confirm: 'yes', _csrf: alice.csrf });
    expect(ok.status).toBe(303);
    expect(await storedReviewers(gw.deps.store, id)).toEqual([{ reviewer: 'alice', verdict: 'approve' }]);
  });

  it('needs no confirmation to deny', async () => {
    const { id, digest } = await hold('billing-api', { method: 'POST', path: '/refunds', body: { invoice: 'inv_3' } });
    const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'deny', digest, comment: 'no', _csrf: alice.csrf });
    expect(res.status).toBe(303);
    expect(await storedStatus(gw.deps.store, id)).toBe('denied');
  });
});

describe('a large input', () => {
  it('renders a large nested input as a small page that links to the exact input as a download', async () => {
    // 48 KB of short values 30 levels down: pretty-printed whole, every one of them is a line of 60 spaces and more.
    let nested: unknown = Array.from({ length: 16_000 }, (_, i) => (i % 90) + 10);
    for (let depth = 0; depth < 30; depth++) nested = { level: nested };
    expect(JSON.stringify(nested).length).toBeGreaterThan(47 * 1024);
    const input = { method: 'POST', path: '/refunds/bulk', body: nested };
    const { id } = await hold('billing-api', input);
    const res = await getPage(gw.url, alice, `/requests/${id}`);
    expect(res.status).toBe(200);
    const page = Buffer.from(await res.arrayBuffer());
    expect(page.byteLength).toBeLessThan(200 * 1024);
    expect(page.toString('utf8')).toContain(`<a href="/requests/${id}/input.json" download>download the full input</a>`);
    const file = await getPage(gw.url, alice, `/requests/${id}/input.json`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^application\/json/);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${id}-input.json"`);
    expect(file.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await file.json()).toEqual(input);
    // Without a session the download is the sign-in page, as for the request page.
    const anonymous = await getPage(gw.url, undefined, `/requests/${id}/input.json`);
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login\?next=/);
  });
});

describe('a link to a request page that says a decision was recorded', () => {
  it('says nothing was recorded that this human did not do: the notice shows only for her own review (or break-glass)', async () => {
    const { id, digest } = await hold('staging-api', { method: 'POST', path: '/deploy', body: { v: 1 } });
    // A link anyone can send (`?done=` is what the review form's redirect adds): the request is pending, she decided nothing.
    for (const done of ['approve', 'deny', 'break-glass']) {
      const page = await (await getPage(gw.url, alice, `/requests/${id}?done=${done}`)).text();
      expect(page).not.toContain('is recorded');
      expect(page).not.toContain('You broke the glass');
    }
    const res = await postForm(gw.url, alice, `/requests/${id}/review`, { verdict: 'deny', digest, comment: 'not today', _csrf: alice.csrf });
    expect(res.status).toBe(303);
    const after = await (await getPage(gw.url, alice, res.headers.get('location')!)).text();
    expect(after).toContain('Your denial is recorded; the request is denied.');
    expect(await (await getPage(gw.url, alice, `/requests/${id}?done=approve`)).text()).not.toContain('Your approval is recorded.');
  });
});
