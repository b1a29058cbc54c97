/**
 * Held requests one principal may have pending at once (`server.maxPendingPerPrincipal`):
 * each one waits in every reviewer's inbox, so an agent submitting held
 * actions without bound would bury other agents' requests and fill the store.
 * Past the cap: 429 TOO_MANY_PENDING and nothing recorded; other principals
 * keep holding theirs, and a place frees the moment one of its requests is final.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
const config = () => `connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(config(), { server: 'maxPendingPerPrincipal: 2' });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const submit = (as: string, method: string, path: string) => gw.as(as, '/v1/actions', { body: { connection: 'api', input: { method, path }, reason: 'pending cap' } });

describe('server.maxPendingPerPrincipal', () => {
  it('past the cap a held action is refused with 429 TOO_MANY_PENDING and not recorded; others are served', { timeout: 60_000 }, async () => {
    const first = await submit('other-bot', 'POST', '/cap/1');
    const second = await submit('other-bot', 'POST', '/cap/2');
    expect([first.status, second.status]).toEqual([202, 202]);

    const third = await submit('other-bot', 'POST', '/cap/3');
    expect(third.status).toBe(429);
    expect(third.body.error.code).toBe('TOO_MANY_PENDING');
    expect(third.body.error.message).toMatch(/maxPendingPerPrincipal/);
    const inbox = await gw.as('alice', '/v1/requests?status=pending');
    expect(inbox.body.requests.map((r: { action: { input: { path: string } } }) => r.action.input.path).sort()).toEqual(['/cap/1', '/cap/2']);

    // Another agent still holds its own, and the capped one's allowed actions still run.
    expect((await submit('deploy-bot', 'POST', '/cap/other')).status).toBe(202);
    expect((await submit('other-bot', 'GET', '/cap/read')).status).toBe(200);

    // A request that becomes final frees its place.
    expect((await gw.as('alice', `/v1/requests/${first.body.id}/reviews`, { body: { verdict: 'deny' } })).status).toBe(200);
    expect((await submit('other-bot', 'POST', '/cap/4')).status).toBe(202);
    expect((await submit('other-bot', 'POST', '/cap/5')).status).toBe(429);
  });

  it('0 turns the cap off: every held action is recorded', { timeout: 60_000 }, async () => {
    const open = await startTestGateway(config(), { server: 'maxPendingPerPrincipal: 0' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await open.as('other-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: `/open/${i}` }, reason: 'no cap' } })).status);
      expect(statuses).toEqual([202, 202, 202, 202]);
      expect((await open.as('alice', '/v1/requests?status=pending')).body.requests).toHaveLength(4);
    } finally {
      await open.stop();
    }
  });
});
