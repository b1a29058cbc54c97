/**
 * Bad input is refused with its stable code before anything is recorded:
 * no request row, no audit event. Error bodies carry a code, a message and a
 * trace id — never a stack frame or a connection's secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSharedGateway, call, type SharedGateway } from '../support/shared-gateway.ts';
import type { TestGateway } from '../support/gateway.ts';
import { storeCounts, storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const SECRET = 'hdr-secret-7f3a9c';

let upstream: Upstream;
let shared: SharedGateway;
let gw: TestGateway;
/** Every error body seen in this file, checked for leaks at the end. */
const errorBodies: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  shared = prepareSharedGateway({ server: { bodyLimitBytes: 1024 } });
  gw = await shared.start(
    `connections:
  - name: api
    kind: http
    url: ${upstream.url}
    headers: { X-Secret: "\${API_SECRET}" }
  - name: echo
    kind: exec
    command: /bin/echo
policy:
  default: allow
`,
    { env: { API_SECRET: SECRET } },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await shared?.remove();
});

type Sent = { key?: string | null; body?: unknown; path?: string; method?: string };

/** Sends as deploy-bot (or with the given key, or none) and asserts that nothing was recorded. */
async function refused(sent: Sent, status: number, code: string) {
  const before = (await storeCounts(gw.deps.store));
  const callsBefore = upstream.calls.length;
  const key = sent.key === null ? undefined : (sent.key ?? gw.keys['deploy-bot']);
  const res = await call(gw.url, key, sent.path ?? '/v1/actions', { ...(sent.body === undefined ? {} : { body: sent.body }), ...(sent.method ? { method: sent.method } : {}) });
  errorBodies.push(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.traceId).toMatch(/^[0-9a-f-]{36}$/);
  expect(await storeCounts(gw.deps.store)).toEqual(before);
  expect(upstream.calls.length).toBe(callsBefore);
  return res;
}

const valid = { connection: 'api', input: { method: 'GET', path: '/ok' }, reason: 'check' };

describe('a malformed submission is refused and leaves no trace', () => {
  it('malformed JSON → 400 INVALID_JSON', async () => {
    await refused({ body: '{"connection": "api", "input": ' }, 400, 'INVALID_JSON');
  });

  it('a body that is not an object, or empty → 400 INVALID_REQUEST', async () => {
    await refused({ body: '[1, 2]' }, 400, 'INVALID_REQUEST');
    await refused({ body: '"x"' }, 400, 'INVALID_REQUEST');
    await refused({ method: 'POST' }, 400, 'INVALID_REQUEST');
  });

  it('an unknown connection → 400 UNKNOWN_CONNECTION', async () => {
    await refused({ body: { ...valid, connection: 'nope' } }, 400, 'UNKNOWN_CONNECTION');
  });

  it('an input of the wrong shape for its kind → 400 INVALID_INPUT', async () => {
    const noPath = await refused({ body: { ...valid, input: { method: 'GET' } } }, 400, 'INVALID_INPUT');
    expect(noPath.body.error.message).toContain('path');
    await refused({ body: { ...valid, input: { method: 'GET', path: '/x', extra: true } } }, 400, 'INVALID_INPUT');
    await refused({ body: { ...valid, input: { method: 'GET /x', path: '/x' } } }, 400, 'INVALID_INPUT');
    await refused({ body: { ...valid, input: { method: 'GET', path: '/x', headers: { 'bad header': 'v' } } } }, 400, 'INVALID_INPUT');
    await refused({ body: { ...valid, connection: 'echo', input: { args: ['ok', 7] } } }, 400, 'INVALID_INPUT');
    await refused({ body: { ...valid, connection: 'echo', input: { args: 'ls -la' } } }, 400, 'INVALID_INPUT');
    await refused({ body: { ...valid, connection: 'echo', input: { args: [], shell: true } } }, 400, 'INVALID_INPUT');
  });

  it('a control character the run could not send (NUL in an argument, CR/LF/NUL in a header) → 400 INVALID_INPUT naming the field', async () => {
    const nul = await refused({ body: { ...valid, connection: 'echo', input: { args: ['ok', 'a\u0000b'] } } }, 400, 'INVALID_INPUT');
    expect(nul.body.error.message).toContain('args.1');
    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\u0000b', 'a\u0001b', 'a\u007fb', 'a\u20acb']) {
      const res = await refused({ body: { ...valid, input: { method: 'GET', path: '/x', headers: { 'X-Note': value } } } }, 400, 'INVALID_INPUT');
      expect(res.body.error.message).toContain('headers.X-Note');
    }
    const name = await refused({ body: { ...valid, input: { method: 'GET', path: '/x', headers: { 'X-A\r\nX-B': 'v' } } } }, 400, 'INVALID_INPUT');
    expect(name.body.error.message).toContain('headers');
  });

  it('a number JSON cannot hold (1e400 parses to Infinity, which has no canonical form to digest) → 400 INVALID_INPUT', async () => {
    await refused({ body: '{"connection":"api","input":{"method":"POST","path":"/x","body":{"n":1e400}},"reason":"check"}' }, 400, 'INVALID_INPUT');
    await refused({ body: '{"connection":"api","input":{"method":"POST","path":"/x","body":[[-1e400]]},"reason":"check"}' }, 400, 'INVALID_INPUT');
  });

  it('a missing or blank reason, or an unknown top-level key → 400 INVALID_REQUEST', async () => {
    const { reason: _reason, ...noReason } = valid;
    const res = await refused({ body: noReason }, 400, 'INVALID_REQUEST');
    expect(res.body.error.message).toContain('reason');
    await refused({ body: { ...valid, reason: '   ' } }, 400, 'INVALID_REQUEST');
    await refused({ body: { ...valid, input: undefined } }, 400, 'INVALID_REQUEST');
    await refused({ body: { ...valid, principal: 'alice' } }, 400, 'INVALID_REQUEST');
  });

  it('a body over server.bodyLimitBytes → 413 PAYLOAD_TOO_LARGE', async () => {
    await refused({ body: { ...valid, reason: 'x'.repeat(2000) } }, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a chunked body with no content-length is cut off at the limit too', async () => {
    const before = (await storeCounts(gw.deps.store));
    const bytes = new TextEncoder().encode(JSON.stringify({ ...valid, reason: 'x'.repeat(5000) }));
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 512) c.enqueue(bytes.subarray(i, i + 512));
        c.close();
      },
    });
    const res = await fetch(`${gw.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.keys['deploy-bot']}`, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await storeCounts(gw.deps.store)).toEqual(before);
  });

  it('a path that climbs out of the connection’s base → 422 INPUT_UNPARSEABLE', async () => {
    await refused({ body: { ...valid, input: { method: 'GET', path: '/a/../admin' } } }, 422, 'INPUT_UNPARSEABLE');
    await refused({ body: { ...valid, input: { method: 'GET', path: '/a/%2e%2e/admin' } } }, 422, 'INPUT_UNPARSEABLE');
    await refused({ body: { ...valid, input: { method: 'GET', path: '//evil.example/x' } } }, 422, 'INPUT_UNPARSEABLE');
  });
});

describe('authentication', () => {
  it('no key or a wrong key → 401 UNAUTHENTICATED with a www-authenticate challenge; a wrong key is an auth.failed event without the key', async () => {
    for (const key of [null, 'cs_wrong-key']) {
      const before = (await storeCounts(gw.deps.store));
      const res = await call(gw.url, key ?? undefined, '/v1/actions', { body: valid });
      errorBodies.push(JSON.stringify(res.body));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      // Nothing changes but the evidence of a refused key.
      expect(await storeCounts(gw.deps.store)).toEqual({ ...before, audit: before.audit + (key ? 1 : 0) });
    }
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed');
    expect(failed.at(-1)).toMatchObject({ actor: null, requestId: null, data: { reason: 'key.unknown', surface: 'rest' } });
    expect(JSON.stringify(failed)).not.toContain('cs_wrong-key');
    expect(upstream.calls).toHaveLength(0);
  });

  it('a malformed authorization header is refused the same way', async () => {
    const res = await fetch(`${gw.url}/v1/whoami`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });
});

describe('reads and reviews with bad input', () => {
  it('another agent’s request is simply not found', async () => {
    const ok = await gw.as('deploy-bot', '/v1/actions', { body: valid });
    expect(ok.status).toBe(200);
    await refused({ key: gw.keys['other-bot'], path: `/v1/requests/${ok.body.id}` }, 404, 'NOT_FOUND');
    await refused({ key: gw.keys['other-bot'], path: `/v1/requests/${ok.body.id}/events` }, 404, 'NOT_FOUND');
    await refused({ path: '/v1/requests/req_doesnotexist' }, 404, 'NOT_FOUND');
  });

  it('a review or a query of the wrong shape → 400 INVALID_REQUEST, nothing recorded', async () => {
    await refused({ key: gw.keys['alice'], path: '/v1/requests/req_x/reviews', body: { verdict: 'maybe' } }, 400, 'INVALID_REQUEST');
    await refused({ key: gw.keys['alice'], path: '/v1/requests/req_x/reviews', body: '{"verdict":' }, 400, 'INVALID_JSON');
    await refused({ path: '/v1/requests?status=bogus' }, 400, 'INVALID_REQUEST');
    await refused({ path: '/v1/requests/req_x?wait=soon' }, 400, 'INVALID_REQUEST');
  });
});

describe('error bodies', () => {
  it('never carry a stack frame or the connection’s secret', () => {
    expect(errorBodies.length).toBeGreaterThan(20);
    for (const b of errorBodies) {
      expect(b).not.toMatch(/\n\s+at |\bat .+:\d+:\d+/);
      expect(b).not.toContain(SECRET);
      expect(b).not.toContain(upstream.url);
    }
  });
});
