/**
 * /readyz says why a gateway cannot serve: with its store gone it answers 503
 * naming the error code (and no path, URL or driver text), and a request
 * sent meanwhile is refused with a 5xx before anything runs upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { testStoreKind } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  default: allow\n`);
});

afterAll(async () => {
  // The store is already closed: the final checkpoint fails (and is logged); the rest still stops.
  await gw?.stop().catch(() => {});
  await upstream?.close();
});

const act = () => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/pay', body: { amount: 1 } }, reason: 'readiness' } });

describe('/readyz', () => {
  it('is ready with its store answering, and names which store', async () => {
    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, store: { ok: true, kind: testStoreKind() }, channels: {} });
  });

  it('with the store gone: 503 naming STORE_UNAVAILABLE, and a request is refused before anything runs', async () => {
    await gw.deps.store.close();

    const res = await fetch(`${gw.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ok: boolean; store: { ok: boolean; kind: string; code: string; message: string }; traceId: string };
    expect(body).toMatchObject({ ok: false, store: { ok: false, kind: testStoreKind(), code: 'STORE_UNAVAILABLE' } });
    expect(body.store.message).toMatch(/store|database/);
    expect(JSON.stringify(body)).not.toContain(gw.dir);
    expect(body.store.message).not.toMatch(/not open|sqlite|:\/\/|password/i);
    expect(res.headers.get('x-trace-id')).toBe(body.traceId);

    const refused = await act();
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(refused.body.error.code).toMatch(/^(STORE_UNAVAILABLE|STORE_BUSY|INTERNAL)$/);
    expect(JSON.stringify(refused.body)).not.toMatch(/not open|sqlite|postgres:\/\/|password|at .*\.ts:\d+/i);
    // The response has come back: the request went no further, and nothing reached the upstream.
    expect(upstream.calls).toHaveLength(0);
  });
});
