/**
 * `GET /metrics` of a real gateway with a real upstream: a valid exposition
 * (each family one group), families that move by exactly what happened (an
 * allowed action, a denied one, a rule that errors, a held one approved 90
 * seconds later on a frozen clock, a refused key), gauges read from the store
 * at scrape time, nothing an agent wrote and no secret in it; off, a 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { parseExposition, valueOf, type Family } from '../support/exposition.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SECRET = 'tok-metrics-secret-7f3a9c';
const yaml = (url: string, extra = '') => `connections:
  - name: billing-api
    kind: http
    url: ${url}/api
    headers: { Authorization: "Bearer \${BILLING_TOKEN}" }
policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET" && facts.http.path != "/flaky"
      effect: allow
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: broken
      when: facts.http.path == "/flaky" && action.input.body.nope == 1
      effect: allow
${extra}`;

let upstream: Upstream;
let gw: TestGateway;
const clock = manualClock();

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(yaml(upstream.url), { clock, env: { BILLING_TOKEN: SECRET } });
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function scrapeText(g: TestGateway = gw): Promise<string> {
  const res = await fetch(`${g.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}
const scrape = async (): Promise<Map<string, Family>> => parseExposition(await scrapeText());

const submit = (method: string, path: string, reason = 'metrics test') =>
  gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method, path }, reason } });

/** Every sample of a family added up (how much a counter moved, over all its label sets). */
const total = (m: Map<string, Family>, name: string) => (m.get(name)?.samples ?? []).filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);

describe('the exposition', () => {
  it('is valid text format with each family one group, HELP and TYPE first, and every family of the gateway and the process', async () => {
    const families = await scrape();
    const types = Object.fromEntries([...families.values()].filter((f) => f.name.startsWith('countersign_')).map((f) => [f.name, f.type]));
    expect(types).toEqual({
      countersign_requests_total: 'counter',
      countersign_decision_seconds: 'histogram',
      countersign_upstream_duration_seconds: 'histogram',
      countersign_policy_errors_total: 'counter',
      countersign_audit_append_duration_seconds: 'histogram',
      countersign_auth_failures_total: 'counter',
      countersign_waits_refused_total: 'counter',
      countersign_requests_pending: 'gauge',
      countersign_requests_oldest_pending_seconds: 'gauge',
      countersign_channel_up: 'gauge',
      countersign_outbox_pending: 'gauge',
      countersign_outbox_dead: 'gauge',
      countersign_outbox_oldest_pending_seconds: 'gauge',
    });
    for (const f of families.values()) expect(f.help, f.name).not.toBe('');
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
  });

  it('is checked by a reader that refuses what the hand-written exposition did: every HELP and TYPE first, then the samples', () => {
    const old = [
      '# HELP countersign_channel_up up',
      '# TYPE countersign_channel_up gauge',
      '# HELP countersign_outbox_pending pending',
      '# TYPE countersign_outbox_pending gauge',
      'countersign_channel_up{channel="slack"} 1',
      'countersign_outbox_pending{channel="slack"} 0',
      '',
    ].join('\n');
    expect(() => parseExposition(old)).toThrow(/one group per family/);
    expect(() => parseExposition('countersign_x{a="b} 1\n')).toThrow();
  });
});

describe('what the families count', () => {
  it('moves by exactly what happened: allowed, denied, a rule that errors, held then approved after 90 s, a refused key', async () => {
    const before = await scrape();
    const requests = (effect: string, status: string, m: Map<string, Family>) => valueOf(m, 'countersign_requests_total', { connection: 'billing-api', effect, status });
    const upstreamOk = (m: Map<string, Family>) => valueOf(m, 'countersign_upstream_duration_seconds_count', { kind: 'http', connection: 'billing-api', outcome: 'ok' });
    const audits = (m: Map<string, Family>) => valueOf(m, 'countersign_audit_append_duration_seconds_count');

    // Allowed: runs at once; one upstream call; two audited writes (submitted+running, then the outcome).
    expect((await submit('GET', '/invoices')).body.status).toBe('succeeded');
    let now = await scrape();
    expect(requests('allow', 'succeeded', now) - requests('allow', 'succeeded', before)).toBe(1);
    expect(upstreamOk(now) - upstreamOk(before)).toBe(1);
    expect(valueOf(now, 'countersign_upstream_duration_seconds_sum', { kind: 'http', connection: 'billing-api', outcome: 'ok' })).toBeGreaterThan(0);
    expect(audits(now) - audits(before)).toBe(2);

    // Denied by default: one audited write, no upstream call.
    expect((await submit('DELETE', '/invoices/1')).status).toBe(403);
    // A rule that fails to evaluate denies, and is counted by its id.
    const flaky = await submit('GET', '/flaky');
    expect(flaky.body.error.code).toBe('POLICY_ERROR');
    now = await scrape();
    expect(requests('deny', 'denied', now) - requests('deny', 'denied', before)).toBe(2);
    expect(valueOf(now, 'countersign_policy_errors_total', { rule: 'broken' }) - valueOf(before, 'countersign_policy_errors_total', { rule: 'broken' })).toBe(1);
    expect(total(now, 'countersign_policy_errors_total') - total(before, 'countersign_policy_errors_total')).toBe(1);
    expect(upstreamOk(now) - upstreamOk(before)).toBe(1);
    expect(audits(now) - audits(before)).toBe(4);

    // Held: pending now, and its age follows the clock.
    const held = await submit('POST', '/refunds');
    expect(held.status).toBe(202);
    now = await scrape();
    expect(valueOf(now, 'countersign_requests_pending')).toBe(1);
    expect(valueOf(now, 'countersign_requests_oldest_pending_seconds')).toBe(0);
    clock.advance(90_000);
    now = await scrape();
    expect(valueOf(now, 'countersign_requests_pending')).toBe(1);
    expect(valueOf(now, 'countersign_requests_oldest_pending_seconds')).toBe(90);

    // Approved 90 s after submission: one decision of 90 s (in the 120 s bucket, not the 60 s one), then it runs.
    expect((await gw.as('alice', `/v1/requests/${held.body.id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${held.body.id}`)).body.status === 'succeeded' ? true : undefined), 15_000);
    now = await scrape();
    const decided = (name: string, labels: Record<string, string> = {}) =>
      valueOf(now, name, { decision: 'approved', ...labels }) - valueOf(before, name, { decision: 'approved', ...labels });
    expect(decided('countersign_decision_seconds_count')).toBe(1);
    expect(decided('countersign_decision_seconds_sum')).toBe(90);
    expect(decided('countersign_decision_seconds_bucket', { le: '60' })).toBe(0);
    expect(decided('countersign_decision_seconds_bucket', { le: '120' })).toBe(1);
    expect(requests('approve', 'succeeded', now) - requests('approve', 'succeeded', before)).toBe(1);
    expect(valueOf(now, 'countersign_requests_pending')).toBe(0);
    expect(valueOf(now, 'countersign_requests_oldest_pending_seconds')).toBe(0);
    expect(upstreamOk(now) - upstreamOk(before)).toBe(2);
    // Four requests settled in all, and nothing else.
    expect(total(now, 'countersign_requests_total') - total(before, 'countersign_requests_total')).toBe(4);

    // A refused key: counted by its reason and surface, nothing more.
    const refused = await fetch(`${gw.url}/v1/requests`, { headers: { authorization: 'Bearer cs_not-a-key-of-anyone' } });
    expect(refused.status).toBe(401);
    now = await scrape();
    expect(valueOf(now, 'countersign_auth_failures_total', { reason: 'key.unknown', surface: 'rest' }) - valueOf(before, 'countersign_auth_failures_total', { reason: 'key.unknown', surface: 'rest' })).toBe(1);
    expect(total(now, 'countersign_auth_failures_total') - total(before, 'countersign_auth_failures_total')).toBe(1);
  });
});

describe('what a scrape never shows', () => {
  it('holds no secret, key, request id, principal or anything an agent wrote, even when it names a connection that does not exist', async () => {
    const ids: string[] = [];
    for (const [method, path] of [
      ['GET', '/orders-marker-a1'],
      ['POST', '/orders-marker-b2'],
      ['DELETE', '/orders-marker-c3'],
    ] as const) {
      const res = await submit(method, path, 'reason-marker-d4');
      ids.push(res.body.id ?? res.body.error?.requestId);
    }
    const unknown = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'conn-marker-e5', input: { method: 'GET', path: '/' }, reason: 'x' } });
    expect(unknown.body.error.code).toBe('UNKNOWN_CONNECTION');
    await fetch(`${gw.url}/v1/requests`, { headers: { authorization: 'Bearer cs_key-marker-f6' } });

    const text = await scrapeText();
    expect(ids.every((id) => typeof id === 'string' && id.startsWith('req_'))).toBe(true);
    for (const needle of [SECRET, ...Object.values(gw.keys), ...ids, 'req_', 'marker', 'deploy-bot', 'alice']) expect(text).not.toContain(needle);
  });
});

describe('metrics off', () => {
  it('answers 404 at /metrics while actions run as before', async () => {
    const off = await startTestGateway(`${yaml(upstream.url)}metrics: { enabled: false }\n`, { env: { BILLING_TOKEN: SECRET } });
    try {
      const res = await fetch(`${off.url}/metrics`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
      const ran = await off.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input: { method: 'GET', path: '/x' }, reason: 'off' } });
      expect(ran.body.status).toBe('succeeded');
    } finally {
      await off.stop();
    }
  });
});

describe('metrics behind a token', () => {
  it('answers 401 without the configured bearer token, or with another, and the exposition with it', async () => {
    const token = 'scrape-7f3a9c2e5b1d4068';
    const guarded = await startTestGateway(`${yaml(upstream.url)}metrics: { token: "\${METRICS_TOKEN}" }\n`, { env: { BILLING_TOKEN: SECRET, METRICS_TOKEN: token } });
    try {
      for (const authorization of [undefined, 'Bearer wrong-token-0000000000', `Bearer ${token}x`, token, `Basic ${token}`, `Bearer ${guarded.keys['deploy-bot']}`]) {
        const res = await fetch(`${guarded.url}/metrics`, authorization ? { headers: { authorization } } : {});
        expect(res.status, String(authorization)).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="countersign metrics"');
        const body = await res.text();
        expect(JSON.parse(body).error.code).toBe('UNAUTHENTICATED');
        expect(body).not.toContain('countersign_');
        expect(body).not.toContain(token);
      }
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('# TYPE countersign_requests_total counter');
    } finally {
      await guarded.stop();
    }
  });

  it('refuses a token too short to be one, at load', async () => {
    await expect(startTestGateway(`${yaml(upstream.url)}metrics: { token: "short" }\n`, { env: { BILLING_TOKEN: SECRET } })).rejects.toThrow(/metrics\.token: at least 16 characters/);
  });
});
