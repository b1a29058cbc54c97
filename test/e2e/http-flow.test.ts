/**
 * The gateway end to end over HTTP with a real upstream: allow, deny, hold,
 * approve by a second human, execute exactly the approved action, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ status: call.url.includes('/boom') ? 500 : 200, body: { echo: call.url } }));
  gw = await startTestGateway(
    `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
    headers: { Authorization: "Bearer \${BILLING_TOKEN}" }
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: prod-writes
      when: connection.tags.env == "prod" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
      message: deletes are never allowed from agents
    - id: no-admin
      when: facts.http.path.startsWith("/admin")
      effect: deny
`,
    // alice reads the audit trail (auditor).
    { env: { BILLING_TOKEN: 'tok-super-secret-123' }, principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

describe('an allowed action', () => {
  it('runs at once with the gateway’s credentials and returns the result', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/invoices', query: { limit: '5' } }, reason: 'list invoices' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result).toMatchObject({ status: 200, body: { echo: '/api/invoices?limit=5' } });
    expect(res.body.decision).toMatchObject({ effect: 'allow', rules: ['reads'] });
    const call = upstream.calls.at(-1)!;
    expect(call.headers.authorization).toBe('Bearer tok-super-secret-123');
    expect(JSON.stringify(res.body)).not.toContain('tok-super-secret-123');
  });

  it('reports a failing upstream as failed, with its status', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/boom' }, reason: 'x' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('EXECUTION_FAILED');
    expect(res.body.result.status).toBe(500);
  });
});

describe('a denied action', () => {
  it('is refused with 403 POLICY_DENIED, the rule and its message, and never reaches the upstream', async () => {
    const before = upstream.calls.length;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'DELETE', path: '/customers/7' }, reason: 'cleanup' } });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'POLICY_DENIED', message: 'deletes are never allowed from agents' });
    expect(res.body.error.rules).toContain('no-deletes');
    expect(upstream.calls.length).toBe(before);
  });
});

describe('a path written to slip past a rule', () => {
  it('is judged as the upstream will read it: /%61dmin is /admin, and ..; is refused', async () => {
    const before = upstream.calls.length;
    const encoded = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/%61dmin/users' }, reason: 'x' } });
    expect(encoded.status).toBe(403);
    expect(encoded.body.error.rules).toContain('no-admin');
    const traversal = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/public/..;/admin' }, reason: 'x' } });
    expect(traversal.status).toBe(422);
    expect(traversal.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.calls.length).toBe(before);
  });
});

describe('a held action', () => {
  it('waits for a human, then runs exactly the stored action once', async () => {
    const before = upstream.calls.length;
    const held = await gw.as('deploy-bot', '/v1/actions', {
      body: { connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { invoice: 'inv_1', amount: 4200 }, headers: { 'X-Api-Key': 'agent-secret-hdr' } }, reason: 'customer asked for a refund' },
    });
    expect(held.status).toBe(202);
    expect(held.body.status).toBe('pending');
    expect(held.body.approvals.needed).toBe(1);
    expect(held.body.expiresAt).toBeTruthy();
    expect(JSON.stringify(held.body)).not.toContain('agent-secret-hdr');
    expect(upstream.calls.length).toBe(before);
    const id = held.body.id as string;

    // The agent long-polls while a reviewer looks.
    const waiting = gw.as('deploy-bot', `/v1/requests/${id}?wait=10&from=pending`);

    const list = await gw.as('alice', '/v1/requests?status=pending');
    expect(list.status).toBe(200);
    const item = list.body.requests.find((r: any) => r.id === id);
    expect(item.action.input).toMatchObject({ method: 'POST', path: '/refunds', body: { invoice: 'inv_1', amount: 4200 } });
    expect(item.facts.http).toMatchObject({ method: 'POST', path: '/refunds' });
    expect(item.reviewable.reviewable).toBe(true);

    const approved = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
    expect(approved.status).toBe(200);
    expect(['approved', 'executing', 'succeeded']).toContain(approved.body.status);

    const changed = await waiting;
    expect(changed.status).toBe(200);
    const final = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${id}`);
      return r.body.status === 'succeeded' ? r.body : undefined;
    });
    expect(final.result.body.echo).toBe('/api/refunds');
    const calls = upstream.calls.slice(before);
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]!.body)).toEqual({ invoice: 'inv_1', amount: 4200 });
    expect(calls[0]!.headers['x-api-key']).toBe('agent-secret-hdr');

    // A second approval after the decision is refused as final.
    const late = await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('REQUEST_ALREADY_DECIDED');
  });

  it('records every step in the audit log, with no credential in it', async () => {
    const rows = await storedAudit(gw.deps.store);
    const types = rows.map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['request.submitted', 'request.held', 'review.recorded', 'request.approved', 'request.executing', 'request.succeeded', 'request.denied']));
    const all = rows.map((r) => r.body).join('\n');
    expect(all).not.toContain('tok-super-secret-123');
    expect(all).not.toContain('agent-secret-hdr');
  });
});

describe('audit search by what the policy saw', () => {
  it('finds a request by a value of a list tag, its effect and its rule, over GET /v1/audit/events', async () => {
    const denied = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'DELETE', path: '/customers/8' }, reason: 'cleanup' } });
    const allowed = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/invoices' }, reason: 'list invoices' } });
    const [deniedId, allowedId] = [denied.body.request.id as string, allowed.body.id as string];
    const search = async (query: string): Promise<string[]> => {
      const r = await gw.as('alice', `/v1/audit/events?${query}&limit=1000`);
      expect(r.status).toBe(200);
      return (r.body.events as { requestId: string; type: string }[]).map((e) => `${e.requestId}:${e.type}`);
    };
    const gdprDenials = await search(`tag=${encodeURIComponent('compliance=gdpr')}&effect=deny&type=request.denied`);
    expect(gdprDenials).toContain(`${deniedId}:request.denied`);
    expect(gdprDenials.filter((e) => e.startsWith(allowedId))).toEqual([]);
    const soc2Reads = await search(`tag=${encodeURIComponent('compliance=soc2')}&rule=reads`);
    expect(soc2Reads.filter((e) => e.startsWith(allowedId))).toEqual([`${allowedId}:request.submitted`, `${allowedId}:request.succeeded`]);
    expect(soc2Reads.filter((e) => e.startsWith(deniedId))).toEqual([]);
    expect((await search('tag=compliance&rule=no-deletes')).filter((e) => e.startsWith(deniedId))).toEqual([`${deniedId}:request.submitted`, `${deniedId}:request.denied`]);
    expect(await search(`tag=${encodeURIComponent('compliance=hipaa')}`)).toEqual([]);
  });
});
