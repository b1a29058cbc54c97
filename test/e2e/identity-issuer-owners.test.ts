/**
 * Whose request is it, when two token issuers name principals the configuration does not: an agent id of issuer A
 * and the same id of issuer B are two workloads in two trust domains, and a human of the people issuer whose id
 * happens to read as an agent's is no workload at all. None of them may read, wait on, cancel, resume or replay
 * (by its Idempotency-Key) a request of another; each still owns its own. A configured agent stays one principal
 * across the issuers it lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PRINCIPALS, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';

let a: TestIssuer;
let b: TestIssuer;
let people: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [a, b, people] = await Promise.all([startTestIssuer('/a'), startTestIssuer('/b'), startTestIssuer('/people')]);
  gw = await startTestGateway(
    `identity:
  issuers:
    - { issuer: ${a.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${b.issuer}, audience: countersign, principal: { kind: agent, id: sub } }
    - { issuer: ${people.issuer}, audience: countersign, principal: { kind: human, id: sub, email: email } }
connections:
  - { name: ops-api, kind: http, url: http://127.0.0.1:9/ops }
policy:
  default: deny
  rules:
    - { id: held, when: "true", effect: approve, approvers: [{ groups: [sre], count: 1 }] }
`,
    {
      principals: [
        ...DEFAULT_PRINCIPALS.map((p) => ({ ...p, email: p.kind === 'human' ? `${p.id}@example.com` : undefined })),
        { id: 'shared-bot', kind: 'agent', groups: [], issuers: [a.issuer, b.issuer] },
      ],
    },
  );
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([a, b, people].map((s) => s?.close()));
});

async function call(token: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${gw.url}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

const action = { connection: 'ops-api', input: { method: 'POST', path: '/restart' }, reason: 'restart the worker' };

describe('an unconfigured agent id is its issuer’s', () => {
  it('the same id from another issuer cannot read, list, wait on, cancel or replay the request', async () => {
    const mine = await a.sign({ aud: 'countersign', sub: 'worker' });
    const theirs = await b.sign({ aud: 'countersign', sub: 'worker' });
    const held = await call(mine, '/v1/actions', { body: action, headers: { 'idempotency-key': 'restart-1' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;

    expect((await call(mine, `/v1/requests/${id}`)).status).toBe(200);
    expect((await call(theirs, `/v1/requests/${id}`)).status).toBe(404);
    expect((await call(theirs, `/v1/requests/${id}?wait=0`)).status).toBe(404);
    expect((await call(theirs, '/v1/requests')).body.requests.map((r: { id: string }) => r.id)).not.toContain(id);
    expect((await call(theirs, `/v1/requests/${id}/cancel`, { body: {} })).status).toBe(404);

    // The same action under the same key is theirs to submit afresh, never the other issuer's request handed back.
    const again = await call(theirs, '/v1/actions', { body: action, headers: { 'idempotency-key': 'restart-1' } });
    expect(again.body.id ?? again.body.error?.requestId).not.toBe(id);
    expect(JSON.stringify(again.body)).not.toContain(id);

    const still = await call(mine, `/v1/requests/${id}`);
    expect(still.body).toMatchObject({ status: 'pending' });
  });

  it('keeps each issuer’s Idempotency-Keys apart: a key the other issuer’s agent used is neither told of nor refused, and each replays its own', async () => {
    const mine = await a.sign({ aud: 'countersign', sub: 'keyed-worker' });
    const theirs = await b.sign({ aud: 'countersign', sub: 'keyed-worker' });
    const body = { ...action, reason: 'restart, keyed' };
    const held = await call(mine, '/v1/actions', { body, headers: { 'idempotency-key': 'restart-42' } });
    expect(held.status).toBe(202);
    // The other issuer's workload learns nothing of the key (no 422 naming it as taken) and gets a request of its own.
    const other = await call(theirs, '/v1/actions', { body, headers: { 'idempotency-key': 'restart-42' } });
    expect(other.status).toBe(202);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(other.body.id).not.toBe(held.body.id);
    // Each retry gets its own request back, never the other's.
    const mineAgain = await call(mine, '/v1/actions', { body, headers: { 'idempotency-key': 'restart-42' } });
    expect(mineAgain.body.id).toBe(held.body.id);
    expect(mineAgain.headers.get('idempotent-replayed')).toBe('true');
    const theirsAgain = await call(theirs, '/v1/actions', { body, headers: { 'idempotency-key': 'restart-42' } });
    expect(theirsAgain.body.id).toBe(other.body.id);
    expect(theirsAgain.headers.get('idempotent-replayed')).toBe('true');
    // A key squatted first by the other issuer does not block this one either.
    const squat = await call(theirs, '/v1/actions', { body, headers: { 'idempotency-key': 'restart-43' } });
    expect(squat.status).toBe(202);
    const late = await call(mine, '/v1/actions', { body, headers: { 'idempotency-key': 'restart-43' } });
    expect(late.status).toBe(202);
    expect(late.body.id).not.toBe(squat.body.id);
  });

  it('a human whose provider id reads as the agent’s is not its requester: no read, no cancel', async () => {
    const agent = await a.sign({ aud: 'countersign', sub: 'ci-runner' });
    const held = await call(agent, '/v1/actions', { body: { ...action, reason: 'restart from ci' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    // Without a verified email, beside configured humans, such a token names no one (principal.unlinked); with one,
    // the provider still names the human by the agent's id.
    expect((await call(await people.sign({ aud: 'countersign', sub: 'ci-runner' }), '/v1/whoami')).body.error).toMatchObject({ reason: 'principal.unlinked' });
    const human = await people.sign({ aud: 'countersign', sub: 'ci-runner', email: 'runner@example.net', email_verified: true });
    expect((await call(human, '/v1/whoami')).body).toMatchObject({ id: 'runner@example.net', kind: 'human' });
    expect((await call(human, `/v1/requests/${id}`)).status).toBe(404);
    expect((await call(human, `/v1/requests/${id}/cancel`, { body: {} })).status).toBe(404);
    expect((await call(agent, `/v1/requests/${id}`)).body).toMatchObject({ status: 'pending' });
  });

  it('a configured agent is one principal across the issuers it lists', async () => {
    const viaA = await a.sign({ aud: 'countersign', sub: 'shared-bot' });
    const viaB = await b.sign({ aud: 'countersign', sub: 'shared-bot' });
    const held = await call(viaA, '/v1/actions', { body: { ...action, reason: 'shared' }, headers: { 'idempotency-key': 'shared-1' } });
    expect(held.status).toBe(202);
    expect((await call(viaB, `/v1/requests/${held.body.id}`)).status).toBe(200);
    const again = await call(viaB, '/v1/actions', { body: { ...action, reason: 'shared' }, headers: { 'idempotency-key': 'shared-1' } });
    expect(again.body.id).toBe(held.body.id);
    expect((await call(viaB, `/v1/requests/${held.body.id}/cancel`, { body: {} })).body).toMatchObject({ status: 'cancelled' });
  });
});
