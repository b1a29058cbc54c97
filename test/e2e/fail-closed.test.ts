/**
 * When something goes wrong the gateway does less, never more: an audit write
 * that fails stops the change and the run; a rule that errors denies; a policy
 * tightened after approval still stops the run; a crash mid-run is recorded as
 * interrupted and never retried.
 */
import Database from 'better-sqlite3';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { Clock } from '../../src/core/ports.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';
import { runClaimed, runDeadline } from '../../src/service/execute.ts';
import { manualClock } from '../support/clock.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { auditEvents, counts, requestStatus, reviewers } from '../support/sqlite.ts';
import { READS_ALLOWED_WRITES_HELD } from '../support/policies.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const body = (url: string, extraRules = '') => `connections:
  - name: pay-api
    kind: http
    url: ${url}
${READS_ALLOWED_WRITES_HELD}    - id: broken
      when: facts.http.path == "/flaky" && action.input.body.nope == 1
      effect: allow
${extraRules}`;

const submit = (g: { as: TestGateway['as'] }, method: string, path: string) =>
  g.as('deploy-bot', '/v1/actions', { body: { connection: 'pay-api', input: { method, path, body: { amount: 1 } }, reason: 'e2e' } });

/** Runs SQL on the gateway's file through a connection of its own, as an operator (or a failing disk) would. */
function onFile(dbPath: string, sql: string): void {
  const db = new Database(dbPath);
  db.pragma('busy_timeout = 5000');
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
const FAIL_AUDIT = `CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END;`;
const HEAL_AUDIT = 'DROP TRIGGER fail_audit;';

let upstream: Upstream;
const shareds: SharedGateway[] = [];
const gateways: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  for (const g of gateways.reverse()) await g.stop();
  await upstream?.close();
  for (const s of shareds) await s.remove();
});

function share(): SharedGateway {
  const s = prepareSharedGateway();
  shareds.push(s);
  return s;
}

async function start(s: SharedGateway, b: string, clock?: Clock): Promise<TestGateway> {
  const g = await s.start(b, clock ? { clock } : {});
  gateways.push(g);
  return g;
}

const callsTo = (path: string) => upstream.calls.filter((c) => c.url === path).length;

describe('an audit write that fails', () => {
  let s: SharedGateway;
  let gw: TestGateway;
  beforeAll(async () => {
    s = share();
    gw = await start(s, body(upstream.url));
  });

  it('stops an allowed action: 503 AUDIT_WRITE_FAILED, no row, nothing sent, no SQL in the answer', async () => {
    onFile(gw.dbPath, FAIL_AUDIT);
    const before = counts(gw.dbPath);
    const res = await submit(gw, 'GET', '/audit-down');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('AUDIT_WRITE_FAILED');
    const text = JSON.stringify(res.body);
    for (const internal of ['disk full', 'RAISE', 'SQLITE', 'audit_events', 'INSERT']) expect(text).not.toContain(internal);
    expect(counts(gw.dbPath)).toEqual(before);
    expect(callsTo('/audit-down')).toBe(0);

    onFile(gw.dbPath, HEAL_AUDIT);
    const again = await submit(gw, 'GET', '/audit-down');
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('succeeded');
    expect(callsTo('/audit-down')).toBe(1);
  });

  it('stops an approval: the request stays pending, the review is not counted, nothing runs', async () => {
    const held = await submit(gw, 'POST', '/refunds/audit-down');
    expect(held.status).toBe(202);
    const id = held.body.id as string;

    onFile(gw.dbPath, FAIL_AUDIT);
    const res = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('AUDIT_WRITE_FAILED');
    onFile(gw.dbPath, HEAL_AUDIT);

    expect(requestStatus(gw.dbPath, id)).toBe('pending');
    expect(reviewers(gw.dbPath, id)).toEqual([]);
    expect(callsTo('/refunds/audit-down')).toBe(0);
    const seen = await gw.as('deploy-bot', `/v1/requests/${id}`);
    expect(seen.body).toMatchObject({ status: 'pending', approvals: { needed: 1 } });

    // Once the log is writable again the same human can approve, and it runs once.
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => (requestStatus(gw.dbPath, id) === 'succeeded' ? true : undefined));
    expect(callsTo('/refunds/audit-down')).toBe(1);
  });
});

describe('an audit write that fails after the action ran', () => {
  it('does not tell the agent that nothing ran, and leaves the request for recovery instead of retrying', async () => {
    const s = share();
    const gw = await s.start(body(upstream.url));
    onFile(s.dbPath, `CREATE TRIGGER fail_outcome BEFORE INSERT ON audit_events WHEN NEW.type = 'request.succeeded' BEGIN SELECT RAISE(ABORT, 'disk full'); END;`);
    const res = await submit(gw, 'GET', '/outcome-lost');
    // A code whose stable meaning says it may have had an effect: AUDIT_WRITE_FAILED says "nothing ran, retry later".
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('EXECUTION_INTERRUPTED');
    expect(res.body.error.message).not.toMatch(/nothing ran/);
    expect(res.body.error.message).toMatch(/ran/);
    expect(res.body.error.requestId).toMatch(/^req_/);
    expect(callsTo('/outcome-lost')).toBe(1);
    expect(requestStatus(s.dbPath, res.body.error.requestId)).toBe('executing');

    await gw.stop();
    onFile(s.dbPath, 'DROP TRIGGER fail_outcome;');
    // Ten minutes on: past the run's deadline (the connection's time bound plus grace).
    const b = await start(s, body(upstream.url), manualClock(Date.now() + 10 * 60_000));
    const seen = await b.as('deploy-bot', `/v1/requests/${res.body.error.requestId}`);
    expect(seen.body).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_INTERRUPTED' } });
    expect(callsTo('/outcome-lost')).toBe(1);
  });
});

describe('a rule that fails to evaluate', () => {
  it('denies with 403 POLICY_ERROR naming the rule, and nothing runs', async () => {
    const gw = await start(share(), body(upstream.url));
    const res = await submit(gw, 'GET', '/flaky');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('POLICY_ERROR');
    expect(res.body.error.rules).toContain('broken');
    expect(res.body.error.message).toContain('broken');
    expect(callsTo('/flaky')).toBe(0);
    expect(requestStatus(gw.dbPath, res.body.error.requestId)).toBe('denied');
    const denied = auditEvents(gw.dbPath, res.body.error.requestId).find((e) => e.type === 'request.denied');
    expect(denied?.data).toMatchObject({ by: 'policy', code: 'POLICY_ERROR', rules: expect.arrayContaining(['broken']) });
  });
});

describe('the policy in force at execution', () => {
  it('a request approved after the policy was tightened to deny ends denied, and never runs', async () => {
    const s = share();
    const a = await s.start(body(upstream.url)); // stopped below, as a restart would
    const held = await submit(a, 'POST', '/refunds/tightened');
    expect(held.status).toBe(202);
    await a.stop();

    const denyRefunds = `    - id: refunds-frozen
      when: facts.http.path.startsWith("/refunds")
      effect: deny
      message: refunds are frozen
`;
    const b = await start(s, body(upstream.url, denyRefunds));
    const res = await b.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } });
    expect(res.status).toBe(200);
    const final = await eventually(async () => {
      const r = await b.as('deploy-bot', `/v1/requests/${held.body.id}`);
      return r.body.status === 'pending' || r.body.status === 'approved' ? undefined : r.body;
    });
    expect(final.status).toBe('denied');
    expect(final.error).toMatchObject({ code: 'POLICY_DENIED', message: 'refunds are frozen' });
    expect(callsTo('/refunds/tightened')).toBe(0);
    const types = auditEvents(s.dbPath, held.body.id).map((e) => e.type);
    expect(types).toEqual(['request.submitted', 'request.held', 'review.recorded', 'request.approved', 'request.denied']);
    expect(auditEvents(s.dbPath, held.body.id).at(-1)?.data).toMatchObject({ by: 'execute-check', code: 'POLICY_DENIED' });
  });

  it('a request approved after its quorum was raised goes back to pending until the new quorum is met', async () => {
    const s = share();
    const a = await s.start(body(upstream.url)); // stopped below, as a restart would
    const held = await submit(a, 'POST', '/payouts/raised');
    await a.stop();

    const twoPeople = `    - id: payouts-two-people
      when: facts.http.path.startsWith("/payouts")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
`;
    const b = await start(s, body(upstream.url, twoPeople));
    expect((await b.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const requeued = await eventually(async () => {
      const r = await b.as('deploy-bot', `/v1/requests/${held.body.id}`);
      return r.body.status === 'pending' && r.body.decision.rules.includes('payouts-two-people') ? r.body : undefined;
    });
    expect(requeued.approvals.needed).toBe(1);
    expect(callsTo('/payouts/raised')).toBe(0);
    expect(auditEvents(s.dbPath, held.body.id).map((e) => e.type)).toContain('request.requeued');

    expect((await b.as('bob', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => (requestStatus(s.dbPath, held.body.id) === 'succeeded' ? true : undefined));
    expect(callsTo('/payouts/raised')).toBe(1);
  });
});

describe('a crash while an action runs', () => {
  let hanging: Server;
  const seen: string[] = [];
  beforeAll(async () => {
    // An upstream that takes the call and never answers: the run is in flight when the gateway dies.
    hanging = createServer((req) => seen.push(req.url ?? ''));
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise((r) => hanging.close(r));
  });

  it('leaves the request executing; the next start marks it failed EXECUTION_INTERRUPTED and does not retry', async () => {
    const addr = hanging.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const s = share();
    const child = await s.spawn(body(url));
    const held = await submit(child, 'POST', '/refunds/crash');
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    expect((await child.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => (seen.includes('/refunds/crash') ? true : undefined));

    await child.kill();
    expect(requestStatus(s.dbPath, id)).toBe('executing');

    // Started at once, the run is still within its deadline: it may be running elsewhere, so it is left alone.
    const early = await start(s, body(url));
    expect(requestStatus(s.dbPath, id)).toBe('executing');
    await early.stop();
    gateways.splice(gateways.indexOf(early), 1);

    // Ten minutes on, past the deadline, the claimant is presumed dead.
    const b = await start(s, body(url), manualClock(Date.now() + 10 * 60_000));
    expect(requestStatus(s.dbPath, id)).toBe('failed');
    const r = await b.as('deploy-bot', `/v1/requests/${id}`);
    expect(r.body).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_INTERRUPTED' } });
    const last = auditEvents(s.dbPath, id).at(-1);
    expect(last).toMatchObject({ type: 'request.failed', actor: null, data: { code: 'EXECUTION_INTERRUPTED' } });
    expect(seen.filter((u) => u === '/refunds/crash')).toHaveLength(1);
  });

  it('tells the waiters when the sweep marks an overdue run interrupted, as any other change of the request', async () => {
    const addr = hanging.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const clock = manualClock();
    const gw = await start(share(), body(url), clock);
    const held = await submit(gw, 'POST', '/refunds/overdue');
    const id = held.body.id as string;
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => (seen.includes('/refunds/overdue') ? true : undefined));
    expect(requestStatus(gw.dbPath, id)).toBe('executing');
    // What a long-poll, an event stream or an MCP wait hears, here or (through LISTEN/NOTIFY) in another replica.
    const heard: string[] = [];
    gw.deps.notifier.subscribe(id, (r) => heard.push(r.status));
    // Past the run's deadline: the sweep presumes the run dead.
    clock.advance(10 * 60_000);
    await eventually(async () => (heard.includes('failed') ? true : undefined), 10_000);
    expect(requestStatus(gw.dbPath, id)).toBe('failed');
  });
});

describe('a claimed run that could not start within the grace of its claim', () => {
  // A claim whose write (or a read after it) stalled: started now, the run's time bound would end past its deadline,
  // when another process may settle it as interrupted while it still runs. Claimed here through the store as execute
  // claims it, on a connection bounded at 30 s (http's default) with the default grace of 30 s.
  async function claimStalled(gw: TestGateway, clock: Clock, path: string): Promise<RequestRecord> {
    const held = await submit(gw, 'POST', path);
    expect(held.status).toBe(202);
    return gw.deps.store.mutateRequest(held.body.id as string, (current) => {
      const now = clock.now();
      const next = transition(transition(current, 'approved', now), 'executing', now, { runDeadline: runDeadline(now, 30_000, 30_000) });
      return { result: next, next, audit: [] };
    });
  }

  it('is not started: failed EXECUTION_INTERRUPTED saying it was not run, nothing sent', async () => {
    const clock = manualClock();
    const gw = await start(share(), body(upstream.url), clock);
    const claimed = await claimStalled(gw, clock, '/refunds/late');
    // 31 s after the claim: short of the deadline (the sweep leaves it alone), too late for a 30 s run to end before it.
    clock.advance(31_000);
    const done = await runClaimed(gw.deps, claimed, claimed.decision);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_INTERRUPTED' } });
    expect(done.error?.message).toContain('it was not run');
    expect(callsTo('/refunds/late')).toBe(0);
    expect(auditEvents(gw.dbPath, claimed.id).at(-1)).toMatchObject({ type: 'request.failed', data: { error: { code: 'EXECUTION_INTERRUPTED' } } });
  });

  it('that another process settled meanwhile is left as it was settled, and still not started', async () => {
    const clock = manualClock();
    const gw = await start(share(), body(upstream.url), clock);
    const claimed = await claimStalled(gw, clock, '/refunds/later');
    // Past the deadline: the sweep settles it as interrupted before the stalled claimant gets to it.
    clock.advance(61_000);
    await eventually(async () => (requestStatus(gw.dbPath, claimed.id) === 'failed' ? true : undefined), 10_000);
    const settled = auditEvents(gw.dbPath, claimed.id).length;
    const done = await runClaimed(gw.deps, claimed, claimed.decision);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_INTERRUPTED' } });
    expect(callsTo('/refunds/later')).toBe(0);
    expect(auditEvents(gw.dbPath, claimed.id)).toHaveLength(settled);
  });
});

describe('a second gateway starting while the first is mid-run', () => {
  it('leaves the run alone, and the first records its real outcome', async () => {
    const parked: ServerResponse[] = [];
    const slow = createServer((_req, res) => parked.push(res));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const addr = slow.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    try {
      const s = share();
      const a = await start(s, body(url));
      const held = await submit(a, 'POST', '/refunds/slow');
      const id = held.body.id as string;
      expect((await a.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
      await eventually(async () => (parked.length === 1 ? true : undefined));

      await start(s, body(url)); // a replica (or a restart of another) on the same file
      expect(requestStatus(s.dbPath, id)).toBe('executing');

      parked[0]!.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      await eventually(async () => (requestStatus(s.dbPath, id) === 'succeeded' ? true : undefined));
      expect(auditEvents(s.dbPath, id).map((e) => e.type)).not.toContain('request.failed');
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });
});
