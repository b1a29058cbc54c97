/**
 * What another site's page can get from the gateway through a signed-in
 * reviewer's browser, over plain HTTP with the headers a browser sends: no
 * answer is readable across origins (no CORS header, for the API or the
 * console, whatever Origin is sent), no GET reaches a form's route by a
 * method override, and no `next` after sign-in leaves the site.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, type ConsoleUser } from '../support/console.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { opsApiConfig } from '../support/policies.ts';
import { storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let alice: ConsoleUser;
let held: { id: string; digest: string };
const EVIL = 'http://evil.example';

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(opsApiConfig(upstream.url));
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/x' }, reason: 'cross-origin' } });
  expect(res.status).toBe(202);
  held = { id: res.body.id, digest: res.body.digest };
  alice = await signIn(gw.url, gw.keys['alice']!);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

describe('another origin', () => {
  it('reads nothing: no answer of the API or the console carries a CORS header, preflight or not', async () => {
    const bearer = { authorization: `Bearer ${gw.keys['alice']}` };
    const answers = [
      await fetch(`${gw.url}/v1/requests/${held.id}`, { headers: { origin: EVIL, ...bearer } }),
      await fetch(`${gw.url}/v1/requests`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } }),
      await fetch(`${gw.url}/requests/${held.id}`, { headers: { origin: EVIL, cookie: alice.cookie } }),
      await fetch(`${gw.url}/requests/${held.id}/input.json`, { headers: { origin: EVIL, cookie: alice.cookie } }),
      await fetch(`${gw.url}/requests/${held.id}/review`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } }),
    ];
    for (const res of answers) {
      await res.body?.cancel();
      expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    }
    // The session cookie is no credential for the API.
    expect((await fetch(`${gw.url}/v1/requests/${held.id}`, { headers: { origin: EVIL, cookie: alice.cookie } })).status).toBe(401);
  });

  it('cannot turn a GET into a review by a method override', async () => {
    const query = new URLSearchParams({ _method: 'POST', verdict: 'approve', digest: held.digest, _csrf: alice.csrf });
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${gw.url}/requests/${held.id}/review?${query}`, {
        method,
        redirect: 'manual',
        headers: { cookie: alice.cookie, 'x-http-method-override': 'POST', 'x-method-override': 'POST', 'sec-fetch-site': 'cross-site' },
      });
      expect(res.status).toBe(404);
    }
    expect(await storedStatus(gw.deps.store, held.id)).toBe('pending');
    expect(await storedReviewers(gw.deps.store, held.id)).toEqual([]);
  });

  it('is never where a sign-in sends the browser after, however `next` is spelled', async () => {
    for (const next of ['//evil.example', '/\\evil.example', '/%09/evil.example', '/\t/evil.example', '\\\\evil.example', 'javascript:alert(1)', 'https:evil.example', ' /x', 'http://evil.example']) {
      const res = await fetch(`${gw.url}/login?next=${encodeURIComponent(next)}`, { redirect: 'manual', headers: { cookie: alice.cookie } });
      // Resolved as a browser resolves it (the WHATWG URL parser): still this gateway.
      const to = new URL(res.headers.get('location') ?? '', gw.url);
      expect({ next, status: res.status, origin: to.origin }).toEqual({ next, status: 303, origin: new URL(gw.url).origin });
    }
    const own = await fetch(`${gw.url}/login?next=${encodeURIComponent(`/requests/${held.id}`)}`, { redirect: 'manual', headers: { cookie: alice.cookie } });
    expect(own.headers.get('location')).toBe(`/requests/${held.id}`);
  });
});
