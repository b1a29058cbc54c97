/** The policy is evaluated again just before running, with the same variables the submission saw. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: rest-writes-need-review
      when: context.request.surface == "rest" && facts.writes
      effect: approve
      approvers: [{ groups: [sre] }]
`);
});
afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

it('runs an approved action whose rule reads context.request (the re-check sees the submission’s context)', async () => {
  const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/jobs' }, reason: 'start a job' } });
  expect(held.status).toBe(202);
  expect((await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
  const done = await eventually(async () => {
    const r = await gw.as('deploy-bot', `/v1/requests/${held.body.id}`);
    return ['succeeded', 'failed', 'denied'].includes(r.body.status) ? r.body : undefined;
  });
  expect(done.status).toBe('succeeded');
  expect(upstream.calls.filter((c) => c.url === '/jobs')).toHaveLength(1);
});

it('lists requests without their results, which GET /v1/requests/:id carries', async () => {
  const list = await gw.as('alice', '/v1/requests?status=succeeded');
  expect(list.body.requests.length).toBeGreaterThan(0);
  expect(list.body.requests[0]).not.toHaveProperty('result');
  const one = await gw.as('alice', `/v1/requests/${list.body.requests[0].id}`);
  expect(one.body.result).toMatchObject({ status: 200 });
});

it('runs an approved request whose claim failed, once the store takes writes again (no restart needed)', async () => {
  const { manualClock } = await import('../support/clock.ts');
  const Database = (await import('better-sqlite3')).default;
  const clock = manualClock();
  const g = await startTestGateway(`connections:
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  rules:
    - { id: writes, when: facts.writes, effect: approve, approvers: [{ groups: [sre] }] }
`, { clock });
  try {
    const db = new Database(g.dbPath);
    db.exec(`CREATE TRIGGER no_claims BEFORE INSERT ON audit_events WHEN NEW.type = 'request.executing' BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    const held = await g.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/resume-me' }, reason: 'x' } });
    expect((await g.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300)); // the claim right after approval has failed by now
    expect((await g.as('deploy-bot', `/v1/requests/${held.body.id}`)).body.status).toBe('approved');
    expect(upstream.calls.filter((c) => c.url === '/resume-me')).toHaveLength(0);

    db.exec('DROP TRIGGER no_claims');
    db.close();
    clock.advance(6000); // past the 5 s an approved request may sit unclaimed
    const done = await eventually(async () => {
      const r = await g.as('deploy-bot', `/v1/requests/${held.body.id}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    expect(done.status).toBe('succeeded');
    expect(upstream.calls.filter((c) => c.url === '/resume-me')).toHaveLength(1);
  } finally {
    await g.stop();
  }
});
