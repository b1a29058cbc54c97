/**
 * Idempotent submission end to end: an agent that lost the answer to
 * `POST /v1/actions` retries under the same `Idempotency-Key` and gets the
 * request it already made, as it stands now, with `Idempotent-Replayed: true`:
 * no second request, no new audit event, nothing run again. Against real
 * upstreams, one of which holds its calls so a retry lands mid-run.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/surfaces/sdk/client.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts, storedAudit } from '../support/store-view.ts';
import { startHeldUpstream, startUpstream, type HeldUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let slow: HeldUpstream;
let gw: TestGateway;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ body: { echo: call.url } }));
  slow = await startHeldUpstream({ done: true });
  gw = await startTestGateway(
    `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
  - name: slow-api
    kind: http
    url: ${slow.url}/api
policy:
  default: deny
  rules:
    - id: reads
      when: "!facts.writes"
      effect: allow
    - id: writes
      when: facts.writes && facts.http.method != "DELETE"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
      message: deletes are never allowed from agents
`,
    { logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await slow?.close();
});

interface Answer {
  status: number;
  body: any;
  replayed: string | null;
}

/** POST /v1/actions as `who`, with the Idempotency-Key header as given (a list: the header sent once per value). */
async function submit(who: string, action: unknown, key?: string | string[]): Promise<Answer> {
  const headers = new Headers({ authorization: `Bearer ${gw.keys[who]}`, 'content-type': 'application/json' });
  for (const k of key === undefined ? [] : Array.isArray(key) ? key : [key]) headers.append('idempotency-key', k);
  const res = await fetch(`${gw.url}/v1/actions`, { method: 'POST', headers, body: JSON.stringify(action) });
  return { status: res.status, body: await res.json(), replayed: res.headers.get('idempotent-replayed') };
}

const read = (path: string) => ({ connection: 'billing-api', input: { method: 'GET', path }, reason: 'look it up' });
const refund = (invoice: string) => ({ connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { invoice } }, reason: 'charged twice' });
const callsTo = (u: Upstream, path: string) => u.calls.filter((c) => c.url === `/api${path}`).length;
/** The view without what a later read may change by itself (none here) or what differs per answer (the trace id). */
const withoutTrace = (body: any) => ({ ...body, error: body.error ? { ...body.error, traceId: undefined } : undefined });

describe('a retried allowed action', () => {
  it('runs once: the retry gets the same request, its result, and Idempotent-Replayed, and writes no audit event', async () => {
    const key = randomUUID();
    const first = await submit('deploy-bot', read('/invoices/1'), key);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('succeeded');
    expect(first.replayed).toBeNull();
    const before = await storeCounts(gw.deps.store);

    const again = await submit('deploy-bot', read('/invoices/1'), key);
    expect(again.status).toBe(200);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(callsTo(upstream, '/invoices/1')).toBe(1);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
  });

  it('takes the key bare or as the draft’s quoted string alike', async () => {
    const key = randomUUID();
    const first = await submit('deploy-bot', read('/invoices/2'), `"${key}"`);
    const again = await submit('deploy-bot', read('/invoices/2'), key);
    expect(again.replayed).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(callsTo(upstream, '/invoices/2')).toBe(1);
  });

  it('records the key in the request.submitted audit event', async () => {
    const key = `audit-${randomUUID()}`;
    const first = await submit('deploy-bot', read('/invoices/3'), key);
    const events = await storedAudit(gw.deps.store, first.body.id);
    expect(events.map((e) => e.type)).toEqual(['request.submitted', 'request.succeeded']);
    expect(events[0]!.data['idempotencyKey']).toBe(key);
  });

  it('without a key, submitting twice still makes two requests (nothing changes for clients that send none)', async () => {
    const a = await submit('deploy-bot', read('/invoices/4'));
    const b = await submit('deploy-bot', read('/invoices/4'));
    expect(a.body.id).not.toBe(b.body.id);
    expect([a.replayed, b.replayed]).toEqual([null, null]);
    expect(callsTo(upstream, '/invoices/4')).toBe(2);
  });
});

describe('a retried held action', () => {
  it('stays one request to approve; approved once, it runs once, and a retry after that gets the outcome', async () => {
    const key = randomUUID();
    const held = await submit('deploy-bot', refund('inv_10'), key);
    expect(held.status).toBe(202);
    expect(held.body.status).toBe('pending');
    const before = await storeCounts(gw.deps.store);

    const again = await submit('deploy-bot', refund('inv_10'), key);
    expect(again.status).toBe(202);
    expect(again.replayed).toBe('true');
    expect(again.body).toEqual(held.body);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    const pending = await gw.as('alice', '/v1/requests?status=pending');
    expect(pending.body.requests.filter((r: any) => r.action.input.body?.invoice === 'inv_10')).toHaveLength(1);

    const approved = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(approved.status).toBe(200);
    await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${held.body.id}`)).body.status === 'succeeded' ? true : undefined), 15_000);

    const after = await submit('deploy-bot', refund('inv_10'), key);
    expect(after.status).toBe(200);
    expect(after.replayed).toBe('true');
    expect(after.body).toMatchObject({ id: held.body.id, status: 'succeeded', result: { status: 200 } });
    expect(upstream.calls.filter((c) => c.url === '/api/refunds' && JSON.parse(c.body).invoice === 'inv_10')).toHaveLength(1);
  });
});

describe('a retried held action a reviewer denied', () => {
  it('answers 403 REVIEW_DENIED for the same request, and it never runs', async () => {
    const key = randomUUID();
    const held = await submit('deploy-bot', refund('inv_11'), key);
    const denied = await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'deny', comment: 'not this one' } });
    expect(denied.body.status).toBe('denied');

    const again = await submit('deploy-bot', refund('inv_11'), key);
    expect(again.status).toBe(403);
    expect(again.replayed).toBe('true');
    expect(again.body.error).toMatchObject({ code: 'REVIEW_DENIED', requestId: held.body.id });
    expect(again.body.request).toMatchObject({ id: held.body.id, status: 'denied' });
    expect(upstream.calls.filter((c) => c.url === '/api/refunds' && JSON.parse(c.body).invoice === 'inv_11')).toHaveLength(0);
  });
});

describe('a retried denied action', () => {
  it('is denied with the same 403 body, for the same request, and nothing new is recorded', async () => {
    const key = randomUUID();
    const del = { connection: 'billing-api', input: { method: 'DELETE', path: '/customers/7' }, reason: 'cleanup' };
    const first = await submit('deploy-bot', del, key);
    expect(first.status).toBe(403);
    expect(first.body.error.code).toBe('POLICY_DENIED');
    const before = await storeCounts(gw.deps.store);

    const again = await submit('deploy-bot', del, key);
    expect(again.status).toBe(403);
    expect(again.replayed).toBe('true');
    expect(withoutTrace(again.body)).toEqual(withoutTrace(first.body));
    expect(again.body.error.requestId).toBe(first.body.error.requestId);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    expect(callsTo(upstream, '/customers/7')).toBe(0);
  });
});

describe('a key used for another action', () => {
  it('is refused with 422 IDEMPOTENCY_KEY_REUSED, naming the request that holds it; nothing is recorded or run', async () => {
    const key = randomUUID();
    const first = await submit('deploy-bot', read('/invoices/20'), key);
    const before = await storeCounts(gw.deps.store);

    const other = await submit('deploy-bot', read('/invoices/21'), key);
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', requestId: first.body.id });
    expect(other.replayed).toBeNull();
    // The reason is part of what the key binds: the same input for another reason is another submission.
    const reworded = await submit('deploy-bot', { ...read('/invoices/20'), reason: 'a different reason' }, key);
    expect(reworded.status).toBe(422);
    expect(reworded.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');

    expect(callsTo(upstream, '/invoices/21')).toBe(0);
    expect(callsTo(upstream, '/invoices/20')).toBe(1);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    // The request holding the key is unchanged, and still answers a true retry.
    const retry = await submit('deploy-bot', read('/invoices/20'), key);
    expect(retry.replayed).toBe('true');
    expect(retry.body).toEqual(first.body);
  });
});

describe('keys of different principals', () => {
  it('are independent: another agent using the same key string gets a request of its own', async () => {
    const key = randomUUID();
    const mine = await submit('deploy-bot', read('/invoices/30'), key);
    const theirs = await submit('other-bot', read('/invoices/30'), key);
    expect(theirs.status).toBe(200);
    expect(theirs.replayed).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.body.principal.id).toBe('other-bot');
    expect(callsTo(upstream, '/invoices/30')).toBe(2);
  });

  it("never show one agent another's request: guessing its key, with the same or another action, makes the guesser's own", async () => {
    const key = `victim-${randomUUID()}`;
    const key2 = `victim-${randomUUID()}`;
    const victim = await submit('deploy-bot', refund('inv_40'), key);
    expect(victim.status).toBe(202);
    const victim2 = await submit('deploy-bot', refund('inv_42'), key2);
    expect(victim2.status).toBe(202);

    // The same action under the victim's key: the attacker's own held request, not the victim's view.
    const same = await submit('other-bot', refund('inv_40'), key);
    expect(same.status).toBe(202);
    expect(same.replayed).toBeNull();
    expect(same.body.id).not.toBe(victim.body.id);
    expect(same.body.principal.id).toBe('other-bot');
    // Another action under the victim's other key: no 422 that would confirm the key exists, just the attacker's own request.
    const other = await submit('other-bot', refund('inv_41'), key2);
    expect(other.status).toBe(202);
    expect(other.replayed).toBeNull();
    expect(other.body).toMatchObject({ status: 'pending', principal: { id: 'other-bot' } });
    expect(JSON.stringify([same.body, other.body])).not.toContain(victim.body.id);
    expect(JSON.stringify([same.body, other.body])).not.toContain(victim2.body.id);
    // And the victim's request stays out of reach by id.
    expect((await gw.as('other-bot', `/v1/requests/${victim.body.id}`)).status).toBe(404);
  });
});

describe('concurrent submissions under one key', () => {
  it('make one request: ten at once all answer with its id, and the upstream is called once', async () => {
    const key = randomUUID();
    const before = await storeCounts(gw.deps.store);
    const answers = await Promise.all(Array.from({ length: 10 }, () => submit('deploy-bot', read('/invoices/50'), key)));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.map((a) => a.status).every((s) => s === 200 || s === 202)).toBe(true);
    expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    const final = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${[...ids][0]}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    }, 15_000);
    expect(final.id).toBe([...ids][0]);
    expect(callsTo(upstream, '/invoices/50')).toBe(1);
    expect((await storeCounts(gw.deps.store)).requests).toBe(before.requests + 1);
  });
});

describe('log lines of submissions under one key', () => {
  it('name the request each answer is about: a replay’s, and a concurrent retry’s that lost the race for the key, never one that was not recorded', async () => {
    const key = randomUUID();
    const from = logs.length;
    const answers = await Promise.all(Array.from({ length: 10 }, () => submit('deploy-bot', refund('inv_55'), key)));
    const id = answers[0]!.body.id as string;
    expect(answers.map((a) => [a.status, a.body.id])).toEqual(answers.map(() => [202, id]));
    const served = await eventually(async () => {
      const lines = logs.slice(from).filter((l) => l['msg'] === 'http request served' && l['path'] === '/v1/actions');
      return lines.length === 10 ? lines : undefined;
    }, 15_000);
    expect(served.map((l) => l['requestId'])).toEqual(served.map(() => id));
  });
});

describe('a retry while the action is still running', () => {
  it('gets the running request (202, executing) and never runs it again; the first answer then brings the result', async () => {
    const key = randomUUID();
    const action = { connection: 'slow-api', input: { method: 'GET', path: '/report' }, reason: 'monthly report' };
    const first = submit('deploy-bot', action, key);
    await slow.arrived(1);

    const retry = await submit('deploy-bot', action, key);
    expect(retry.status).toBe(202);
    expect(retry.replayed).toBe('true');
    expect(retry.body.status).toBe('executing');
    expect(retry.body.links.wait).toBe(`/v1/requests/${retry.body.id}?wait=30`);

    slow.release();
    const done = await first;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: retry.body.id, status: 'succeeded', result: { body: { done: true } } });
    const settled = await submit('deploy-bot', action, key);
    expect(settled).toMatchObject({ status: 200, replayed: 'true', body: { id: retry.body.id, status: 'succeeded' } });
    expect(slow.calls).toHaveLength(1);
  });
});

describe('an invalid key', () => {
  it('is refused with 400 IDEMPOTENCY_KEY_INVALID before anything is recorded or run', async () => {
    const before = await storeCounts(gw.deps.store);
    const bad = ['', 'has space', 'x'.repeat(256), '"unclosed', 'tab\there', 'caf\u00e9', ['one', 'two']];
    for (const key of bad) {
      const res = await submit('deploy-bot', read('/invoices/60'), key);
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(res.body.error.code, JSON.stringify(key)).toBe('IDEMPOTENCY_KEY_INVALID');
    }
    expect(callsTo(upstream, '/invoices/60')).toBe(0);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    // 255 characters is the most a key may have.
    expect((await submit('deploy-bot', read('/invoices/60'), 'k'.repeat(255))).status).toBe(200);
  });
});

describe('the TypeScript client', () => {
  it('sends the key with submit and run, so a retried run waits on the first request instead of making another', async () => {
    const cs = createClient({ url: gw.url, key: gw.keys['deploy-bot']! });
    const key = `ts "client" \\ ${randomUUID()}`.replace(/ /g, '-');
    const first = await cs.submit(refund('inv_70'), { idempotencyKey: key });
    expect(first.status).toBe('pending');
    const again = await cs.submit(refund('inv_70'), { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    // The client quoted and escaped the key as the draft says: sent bare, the same key finds the same request.
    const bare = await submit('deploy-bot', refund('inv_70'), key);
    expect(bare).toMatchObject({ status: 202, replayed: 'true', body: { id: first.id } });

    const running = cs.run(refund('inv_70'), { idempotencyKey: key, timeoutMs: 20_000 });
    await gw.as('alice', `/v1/requests/${first.id}/reviews`, { body: { verdict: 'approve' } });
    const final = await running;
    expect(final).toMatchObject({ id: first.id, status: 'succeeded' });
    expect(upstream.calls.filter((c) => c.url === '/api/refunds' && JSON.parse(c.body).invoice === 'inv_70')).toHaveLength(1);

    await expect(cs.submit(refund('inv_71'), { idempotencyKey: key })).rejects.toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
