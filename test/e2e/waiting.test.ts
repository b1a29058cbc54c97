/**
 * The agent's durable handle: long-poll, server-sent events, and the typed
 * client's `run`, which waits through an approval given by someone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, CountersignApiError } from '../../src/surfaces/sdk/client.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { opsApiConfig } from '../support/policies.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { readEvents } from '../support/sse.ts';


let upstream: Upstream;
let shared: SharedGateway;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ status: 200, body: { url: call.url } }));
  shared = prepareSharedGateway();
  gw = await shared.start(opsApiConfig(upstream.url));
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await shared?.remove();
});

async function hold(path: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path }, reason: 'wait for it' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const approve = (id: string, g: TestGateway = gw) => g.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });

describe('long-poll', () => {
  it('?wait=60 returns as soon as a review changes the status, long before the deadline', async () => {
    const id = await hold('/poll/changes');
    // A deadline past this test's own time limit: a wait that is not ended by the review fails the test, however
    // slow the machine (no clock is read here).
    const waiting = gw.as('deploy-bot', `/v1/requests/${id}?wait=60&from=pending`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await approve(id)).status).toBe(200);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(res.body.status).not.toBe('pending');
    // Settled before the next test starts a second gateway on the file (whose start recovers in-flight runs).
    await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined));
  });

  it('?wait=1 with no change returns the unchanged request once its second has passed', async () => {
    const id = await hold('/poll/unchanged');
    const started = Date.now();
    const res = await gw.as('deploy-bot', `/v1/requests/${id}?wait=1`);
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, status: 'pending' });
    // Not before its second (how much after depends on the machine's load: no upper bound here).
    expect(took).toBeGreaterThanOrEqual(900);
  });

  it('sees a review given through another gateway on the same file', async () => {
    const other = await shared.start(opsApiConfig(upstream.url));
    try {
      const id = await hold('/poll/elsewhere');
      const waiting = gw.as('deploy-bot', `/v1/requests/${id}?wait=10&from=pending`);
      expect((await approve(id, other)).status).toBe(200);
      const res = await waiting;
      expect(res.body.status).not.toBe('pending');
    } finally {
      await other.stop();
    }
  });
});



describe('server-sent events', () => {
  it('stream the request from pending through the approval to succeeded, then end', async () => {
    const id = await hold('/sse/flow');
    const res = await fetch(`${gw.url}/v1/requests/${id}/events`, {
      headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` },
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');

    let approved = false;
    const events = await readEvents(res, (e) => {
      if (!approved && e.event === 'request' && e.data.status === 'pending') {
        approved = true;
        void approve(id);
      }
    });
    const statuses = events.filter((e) => e.event === 'request').map((e) => e.data.status as string);
    expect(statuses[0]).toBe('pending');
    expect(statuses.at(-1)).toBe('succeeded');
    const order = ['pending', 'approved', 'executing', 'succeeded'];
    expect(statuses.map((s) => order.indexOf(s))).toEqual(statuses.map((s) => order.indexOf(s)).sort((a, b) => a - b));
    expect(events.at(-1)!.data.result).toMatchObject({ status: 200, body: { url: '/sse/flow' } });
    const versions = events.filter((e) => e.event === 'request').map((e) => Number(e.id));
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  });

  it('send one event and end at once for a request that is already final', async () => {
    const done = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'GET', path: '/sse/done' }, reason: 'x' } });
    expect(done.body.status).toBe('succeeded');
    const res = await fetch(`${gw.url}/v1/requests/${done.body.id}/events`, { headers: { authorization: `Bearer ${gw.keys['deploy-bot']}` }, signal: AbortSignal.timeout(5000) });
    const events = await readEvents(res, () => {});
    expect(events.map((e) => [e.event, e.data.status])).toEqual([['request', 'succeeded']]);
  });
});

describe('the typed client', () => {
  it('run() resolves with succeeded after a human approves through another client', async () => {
    const agent = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const alice = createClient({ url: gw.url, key: gw.keys['alice']! });
    let pendingId: string | undefined;
    const r = await agent.run(
      { connection: 'ops-api', input: { method: 'POST', path: '/sdk/refund', body: { amount: 5 } }, reason: 'sdk e2e' },
      {
        timeoutMs: 15_000,
        onPending: (p) => {
          pendingId = p.id;
          void alice.review(p.id, { verdict: 'approve', digest: p.digest });
        },
      },
    );
    expect(pendingId).toBe(r.id);
    expect(r.status).toBe('succeeded');
    expect(r.result).toMatchObject({ status: 200, body: { url: '/sdk/refund' } });
    expect(r.reviews.map((v) => v.reviewer)).toEqual(['alice']);
    expect(upstream.calls.filter((c) => c.url === '/sdk/refund')).toHaveLength(1);
  });

  it('run() resolves (does not throw) with denied for a policy denial', async () => {
    const agent = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const r = await agent.run({ connection: 'ops-api', input: { method: 'DELETE', path: '/sdk/everything' }, reason: 'oops' });
    expect(r.status).toBe('denied');
    expect(r.error?.code).toBe('POLICY_DENIED');
    expect(upstream.calls.filter((c) => c.url === '/sdk/everything')).toHaveLength(0);
  });

  it('run() resolves with denied when a reviewer denies', async () => {
    const agent = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const bob = createClient({ url: gw.url, key: gw.keys['bob']! });
    const r = await agent.run(
      { connection: 'ops-api', input: { method: 'POST', path: '/sdk/denied' }, reason: 'x' },
      { timeoutMs: 15_000, onPending: (p) => void bob.review(p.id, { verdict: 'deny', comment: 'no' }) },
    );
    expect(r).toMatchObject({ status: 'denied', error: { code: 'REVIEW_DENIED' } });
  });

  it('throws a CountersignApiError with the code for a request the gateway refuses', async () => {
    const agent = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const err = await agent.run({ connection: 'nope', input: {}, reason: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CountersignApiError);
    expect(err).toMatchObject({ status: 400, code: 'UNKNOWN_CONNECTION' });
  });
});
