/**
 * Traces end to end: a real gateway with tracing on exports its spans over
 * OTLP/HTTP to a real receiver; the agent's W3C trace context parents them
 * and reaches the HTTP upstream from the execute span; a malformed one, or
 * one an action's own headers carry, does not; a held action's run links to
 * its submission; log lines name the request. With tracing off, nothing is
 * read, sent or exported (and the SDK is not loaded at all:
 * tracing-off-process.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { filesystemConnection } from '../support/mcp.ts';
import { client, POLICY as PG_POLICY } from '../support/pg-wire-clients.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startUpstream, type RecordedCall, type Upstream } from '../support/upstream.ts';


const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** A trace id with letters in it, so that an upper-case copy differs. */
const traceIdWithLetters = () => `abcdef${hex(13)}`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

let upstream: Upstream;
let receiver: OtlpReceiver;
let gw: TestGateway;
const logs: Record<string, unknown>[] = [];

const connectionsAndPolicy = (url: string) => `connections:
  - name: billing-api
    kind: http
    url: ${url}/api
    headers: { Authorization: "Bearer \${BILLING_TOKEN}" }
    tags: { env: prod }
policy:
  default: deny
  rules:
    - { id: reads, when: 'facts.http.method == "GET"', effect: allow }
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`;

beforeAll(async () => {
  // The batch processor's standard knob: export every 100 ms rather than every 5 s.
  vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '100');
  upstream = await startUpstream();
  receiver = await startOtlpReceiver();
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  gw = await startTestGateway(
    `tracing:
  enabled: true
  sampleRatio: 1
  serviceName: countersign-test
  otlp: { url: "${receiver.url}", headers: { authorization: "Bearer \${OTLP_TOKEN}" } }
${connectionsAndPolicy(upstream.url)}`,
    { env: { BILLING_TOKEN: 'tok-billing-secret-42', OTLP_TOKEN: 'otlp-token-7' }, logger },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await receiver?.close();
  vi.unstubAllEnvs();
});

async function post(on: TestGateway, as: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${on.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${on.keys[as]}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const allowedGet = (path = '/invoices', headers?: Record<string, string>) => ({ connection: 'billing-api', input: { method: 'GET', path, ...(headers ? { headers } : {}) }, reason: 'list invoices' });

/** The upstream's call for `path` (the gateway prefixes /api). */
function callTo(path: string): RecordedCall {
  const call = upstream.calls.find((c) => c.url === `/api${path}`);
  if (!call) throw new Error(`the upstream got no call to ${path}`);
  return call;
}

/** Spans of one trace, once its server span (which ends last) has arrived. */
const traceOf = (traceId: string, server = 'POST /v1/actions') =>
  receiver.waitFor((spans) => {
    const t = spans.filter((s) => s.traceId === traceId);
    return t.some((s) => s.name === server) ? t : undefined;
  });

const one = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};

describe('an agent’s trace context', () => {
  it('parents the gateway’s spans of an allowed action, and reaches the HTTP upstream from the execute span', async () => {
    const traceId = hex(16);
    const parent = hex(8);
    const res = await post(gw, 'deploy-bot', '/v1/actions', allowedGet('/traced'), { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'agent=abc' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    const id = res.body.id as string;

    const sent = TRACEPARENT.exec(String(callTo('/traced').headers['traceparent']));
    expect(sent?.[1]).toBe(traceId);
    expect(callTo('/traced').headers['tracestate']).toBe('agent=abc');

    const spans = await traceOf(traceId);
    const server = one(spans, 'POST /v1/actions');
    expect(server).toMatchObject({ kind: 2, parentSpanId: parent, status: 0 });
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/actions', 'http.response.status_code': 200, 'countersign.request_id': id });
    expect(server.resource['service.name']).toBe('countersign-test');

    const authenticate = one(spans, 'authenticate');
    expect(authenticate.parentSpanId).toBe(server.spanId);
    expect(authenticate.attributes['countersign.principal']).toBe('deploy-bot');
    const facts = one(spans, 'facts');
    const policy = one(spans, 'policy');
    const execute = one(spans, 'execute');
    for (const s of [facts, policy, execute]) expect(s.parentSpanId, s.name).toBe(server.spanId);
    expect(policy.attributes).toMatchObject({ 'countersign.effect': 'allow', 'countersign.rules': 'reads' });
    expect(facts.attributes).toMatchObject({ 'countersign.connection': 'billing-api', 'countersign.connection_kind': 'http' });
    expect(execute).toMatchObject({ kind: 3, spanId: sent?.[2] });
    expect(execute.attributes).toMatchObject({ 'countersign.connection': 'billing-api', 'countersign.connection_kind': 'http', 'countersign.execution.ok': true });
    // The request's write, and its outcome's.
    const stores = spans.filter((s) => s.name === 'store');
    expect(stores.map((s) => s.attributes['countersign.store.operation']).sort()).toEqual(['insertRequest', 'mutateRequest']);
    for (const s of stores) expect(s.parentSpanId).toBe(server.spanId);

    // Known once the request is made, after authentication, facts and policy: on every span from then, and the server span.
    for (const s of [server, execute, ...stores]) expect(s.attributes['countersign.request_id'], s.name).toBe(id);
    for (const s of [authenticate, facts, policy]) expect(s.attributes['countersign.request_id'], s.name).toBeUndefined();

    // The collector's credential went to the collector, and no credential went into a span.
    expect(receiver.exports[0]?.authorization).toBe('Bearer otlp-token-7');
    const exported = JSON.stringify(receiver.spans);
    expect(exported).not.toContain('tok-billing-secret-42');
    expect(exported).not.toContain(gw.keys['deploy-bot']);
  });

  it('links the run of a held action, started by a human’s review in another trace, to its submission', async () => {
    const submitTrace = hex(16);
    const held = await post(gw, 'deploy-bot', '/v1/actions', { connection: 'billing-api', input: { method: 'POST', path: '/refunds', body: { n: 1 } }, reason: 'refund' }, { traceparent: `00-${submitTrace}-${hex(8)}-01` });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    const reviewTrace = hex(16);
    const reviewed = await post(gw, 'alice', `/v1/requests/${id}/reviews`, { verdict: 'approve', comment: 'ok' }, { traceparent: `00-${reviewTrace}-${hex(8)}-01` });
    expect(reviewed.status).toBe(200);
    await eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined), 20_000);

    const submitted = await traceOf(submitTrace);
    const submitServer = one(submitted, 'POST /v1/actions');
    expect(submitted.find((s) => s.name === 'execute')).toBeUndefined();
    const spans = await receiver.waitFor((all) => {
      const t = all.filter((s) => s.traceId === reviewTrace);
      return t.some((s) => s.name === 'execute') && t.some((s) => s.name === 'POST /v1/requests/:id/reviews') ? t : undefined;
    });
    const review = one(spans, 'review');
    expect(review.attributes).toMatchObject({ 'countersign.reviewer': 'alice', 'countersign.verdict': 'approve', 'countersign.request_id': id });
    const execute = one(spans, 'execute');
    expect(execute.attributes['countersign.request_id']).toBe(id);
    expect(execute.links).toEqual([{ traceId: submitTrace, spanId: submitServer.spanId }]);
    // The upstream sees the trace that ran the action: the review's.
    expect(TRACEPARENT.exec(String(callTo('/refunds').headers['traceparent']))?.[1]).toBe(reviewTrace);
  });

  it('keeps the steps of runs approved at the same moment each in its own review’s trace', async () => {
    const held = await Promise.all(
      [1, 2, 3].map((n) => post(gw, 'deploy-bot', '/v1/actions', { connection: 'billing-api', input: { method: 'POST', path: `/batch-${n}`, body: {} }, reason: 'batch' })),
    );
    const traces = held.map(() => hex(16));
    const reviews = await Promise.all(held.map((h, i) => post(gw, 'alice', `/v1/requests/${h.body.id}/reviews`, { verdict: 'approve' }, { traceparent: `00-${traces[i]}-${hex(8)}-01` })));
    expect(reviews.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const [i, h] of held.entries()) {
      const spans = await receiver.waitFor((all) => {
        const t = all.filter((s) => s.traceId === traces[i]);
        return t.some((s) => s.name === 'execute') && t.some((s) => s.name === 'POST /v1/requests/:id/reviews') ? t : undefined;
      });
      // The re-check before the run (facts, then policy) happens under the claim's store write, in this trace alone.
      const policy = one(spans, 'policy');
      const facts = one(spans, 'facts');
      const claim = spans.find((s) => s.spanId === policy.parentSpanId);
      expect(claim?.name).toBe('store');
      expect(facts.parentSpanId).toBe(claim?.spanId);
      expect(one(spans, 'execute').attributes['countersign.request_id']).toBe(h.body.id);
    }
  });
});

describe('what an agent cannot send upstream', () => {
  it('a malformed traceparent is ignored: the gateway starts a trace of its own and forwards neither it nor the tracestate', async () => {
    const traceId = traceIdWithLetters();
    const span = hex(8);
    const malformed = [
      `00-${traceId}-${span}-01-extra`,
      `00-${traceId.toUpperCase()}-${span}-01`,
      `00-${'0'.repeat(32)}-${span}-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `ff-${traceId}-${span}-01`,
      `00-${traceId}-${span}-01,00-${traceId}-${span}-01`,
      `00-${traceId}-${span}`,
      'not a trace context',
    ];
    for (const [i, bad] of malformed.entries()) {
      const path = `/malformed-${i}`;
      const res = await post(gw, 'deploy-bot', '/v1/actions', allowedGet(path), { traceparent: bad, tracestate: 'evil=1' });
      expect(res.status, bad).toBe(200);
      const call = callTo(path);
      const sent = TRACEPARENT.exec(String(call.headers['traceparent']));
      expect(sent, bad).not.toBeNull();
      expect(sent?.[1], bad).not.toBe(traceId);
      expect(call.headers['tracestate'], bad).toBeUndefined();
      const server = one(await traceOf(sent![1]!), 'POST /v1/actions');
      expect(server.parentSpanId, bad).toBe('');
      expect(server.attributes['countersign.request_id']).toBe(res.body.id);
    }
  });

  it('the trace context an action’s own headers carry is replaced by the gateway’s', async () => {
    const traceId = hex(16);
    const forged = `00-${hex(16)}-${hex(8)}-01`;
    const res = await post(gw, 'deploy-bot', '/v1/actions', allowedGet('/forged', { TraceParent: forged, tracestate: 'forged=1', 'x-kept': 'yes' }), { traceparent: `00-${traceId}-${hex(8)}-01` });
    expect(res.status).toBe(200);
    const call = callTo('/forged');
    expect(TRACEPARENT.exec(String(call.headers['traceparent']))?.[1]).toBe(traceId);
    expect(call.headers['tracestate']).toBeUndefined();
    expect(call.headers['x-kept']).toBe('yes');
    expect(JSON.stringify(call.headers)).not.toContain(forged);
  });
});

describe('log lines', () => {
  it('name the request they were logged for, each its own, when requests run at once', async () => {
    const traceId = hex(16);
    const [allowed, held] = await Promise.all([
      post(gw, 'deploy-bot', '/v1/actions', allowedGet('/logged')),
      post(gw, 'deploy-bot', '/v1/actions', { connection: 'billing-api', input: { method: 'POST', path: '/logged', body: {} }, reason: 'log' }, { traceparent: `00-${traceId}-${hex(8)}-01` }),
    ]);
    expect([allowed.status, held.status]).toEqual([200, 202]);
    const served = await eventually(async () => {
      const lines = logs.filter((l) => l['msg'] === 'http request served' && l['path'] === '/v1/actions' && (l['requestId'] === allowed.body.id || l['requestId'] === held.body.id));
      return lines.length === 2 ? lines : undefined;
    });
    expect(served.find((l) => l['requestId'] === allowed.body.id)?.['status']).toBe(200);
    expect(served.find((l) => l['requestId'] === held.body.id)?.['status']).toBe(202);
    expect(JSON.stringify(logs)).not.toContain('tok-billing-secret-42');
  });
});

describe('stopping the gateway', () => {
  it('exports the spans still buffered before it is done', async () => {
    // A batch due only in ten minutes: what arrives must come from the shutdown's flush.
    vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '600000');
    const late = await startTestGateway(`tracing: { enabled: true, otlp: { url: "${receiver.url}" } }\n${connectionsAndPolicy(upstream.url)}`, { env: { BILLING_TOKEN: 'x' } });
    vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '100');
    const traceId = hex(16);
    let id: string;
    try {
      const res = await post(late, 'deploy-bot', '/v1/actions', allowedGet('/flushed'), { traceparent: `00-${traceId}-${hex(8)}-01` });
      expect(res.status).toBe(200);
      id = res.body.id as string;
    } finally {
      await late.stop();
    }
    const server = receiver.spans.find((s) => s.traceId === traceId && s.name === 'POST /v1/actions');
    expect(server?.attributes['countersign.request_id']).toBe(id);
    expect(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name)).toContain('execute');
  });
});

describe('the MCP gateway', () => {
  it('puts a tool call, in the agent’s trace, under the HTTP request that carried it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-tracing-mcp-'));
    const mcp = await startTestGateway(
      `tracing: { enabled: true, otlp: { url: "${receiver.url}" } }\nconnections:\n${filesystemConnection('files', dir)}policy:\n  default: deny\n  rules:\n    - { id: files, when: 'connection.name == "files"', effect: allow }\n`,
    );
    const agent = new Client({ name: 'traced-agent', version: '1.0.0' });
    const traceId = hex(16);
    try {
      await agent.connect(new StreamableHTTPClientTransport(new URL('/mcp', mcp.url), { requestInit: { headers: { authorization: `Bearer ${mcp.keys['deploy-bot']}`, traceparent: `00-${traceId}-${hex(8)}-01` } } }));
      const result = (await agent.callTool({ name: 'files__list_allowed_directories', arguments: {} })) as { isError?: boolean };
      expect(result.isError).not.toBe(true);
      const spans = await receiver.waitFor((all) => {
        const t = all.filter((s) => s.traceId === traceId);
        return t.some((s) => s.name === 'mcp tools/call') && t.some((s) => s.name === 'execute') ? t : undefined;
      });
      const call = one(spans, 'mcp tools/call');
      expect(spans.find((s) => s.spanId === call.parentSpanId)?.name).toBe('POST /mcp');
      const execute = one(spans, 'execute');
      expect(execute.parentSpanId).toBe(call.spanId);
      expect(execute.attributes).toMatchObject({ 'countersign.connection': 'files', 'countersign.connection_kind': 'mcp', 'countersign.execution.ok': true });
      expect(typeof execute.attributes['countersign.request_id']).toBe('string');
    } finally {
      await agent.close().catch(() => undefined);
      await mcp.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const db = await createTestDatabase();

describe.skipIf(!db)('the Postgres wire listener', () => {
  it('makes a trace of each statement: a server span, and the steps under it with the request id', async () => {
    // alice finds the statement's request among all of them: she is an auditor.
    const wire = await startTestGateway(`tracing: { enabled: true, otlp: { url: "${receiver.url}" } }\n${PG_POLICY}`, {
      env: { APP_DB_URL: db!.url },
      server: 'postgres: { port: 0 }',
      principals: DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor' as const] } : p)),
    });
    const c = client(wire);
    try {
      await c.connect();
      expect((await c.query('SELECT 41 + 1 AS n')).rows).toEqual([{ n: 42 }]);
      const req = (await wire.as('alice', '/v1/requests?limit=10')).body.requests.find((r: { action: { input: { sql: string } } }) => r.action.input.sql === 'SELECT 41 + 1 AS n');
      const spans = await receiver.waitFor((all) => {
        const server = all.find((s) => s.name === 'pg statement' && s.attributes['countersign.request_id'] === req.id);
        return server ? all.filter((s) => s.traceId === server.traceId) : undefined;
      });
      const server = one(spans, 'pg statement');
      expect(server).toMatchObject({ kind: 2, parentSpanId: '' });
      expect(server.attributes['countersign.connection']).toBe('app-db');
      const execute = one(spans, 'execute');
      expect(execute.parentSpanId).toBe(server.spanId);
      expect(execute.attributes).toMatchObject({ 'countersign.request_id': req.id, 'countersign.connection_kind': 'postgres', 'countersign.runs_in': 'session', 'countersign.execution.ok': true });
      expect(one(spans, 'policy').attributes['countersign.effect']).toBe('allow');
      // No statement text, no parameter, no database URL in a span.
      expect(JSON.stringify(spans)).not.toContain('41 + 1');
      expect(JSON.stringify(spans)).not.toContain(db!.url);
    } finally {
      await c.end().catch(() => undefined);
      await wire.stop();
    }
  });
});

afterAll(async () => {
  await db?.drop();
});

describe('tracing off', () => {
  it('reads no trace context, sends none upstream and exports nothing, while log lines still name the request', async () => {
    const offLogs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void offLogs.push(JSON.parse(line) as Record<string, unknown>) });
    const off = await startTestGateway(`tracing: { enabled: false, otlp: { url: "${receiver.url}" } }\n${connectionsAndPolicy(upstream.url)}`, { env: { BILLING_TOKEN: 'tok-billing-secret-42' }, logger });
    let id: string;
    const traceId = hex(16);
    try {
      const res = await post(off, 'deploy-bot', '/v1/actions', allowedGet('/untraced'), { traceparent: `00-${traceId}-${hex(8)}-01`, tracestate: 'agent=abc' });
      expect(res.status).toBe(200);
      id = res.body.id as string;
      expect(callTo('/untraced').headers['traceparent']).toBeUndefined();
      expect(callTo('/untraced').headers['tracestate']).toBeUndefined();
      const line = await eventually(async () => offLogs.find((l) => l['msg'] === 'http request served' && l['path'] === '/v1/actions'));
      expect(line['requestId']).toBe(id);
    } finally {
      // Closing flushes whatever a gateway has buffered for its exporter.
      await off.stop();
    }
    // The gateway with tracing on, on the same receiver, is seen exporting a request sent after.
    const control = hex(16);
    await post(gw, 'deploy-bot', '/v1/actions', allowedGet('/control'), { traceparent: `00-${control}-${hex(8)}-01` });
    await traceOf(control);
    expect(receiver.spans.filter((s) => s.traceId === traceId || s.attributes['countersign.request_id'] === id)).toEqual([]);
  });
});
