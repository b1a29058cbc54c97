/**
 * What the policy judges of an HTTP action is what the upstream reads, even
 * where the upstream reads the bytes otherwise than the gateway wrote them:
 * a JSON body sent under a form Content-Type (Rails, Laravel and Symfony read
 * `_method` from a form body as the real method), and a header named twice in
 * different case (one name on the wire; an upstream reads whichever copy its
 * framework prefers, policy the one `action.input.headers` names).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

interface Seen {
  method: string;
  effectiveMethod: string;
  rawHeaders: string[];
  body: string;
}

/** An upstream that reads `_method` from a form body as Rack::MethodOverride does (POST only), and records what it got. */
async function startFormUpstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let effectiveMethod = req.method ?? '';
      if (req.method === 'POST' && /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
        const override = new URLSearchParams(body).get('_method');
        if (override) effectiveMethod = override.toUpperCase();
      }
      seen.push({ method: req.method ?? '', effectiveMethod, rawHeaders: req.rawHeaders, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: effectiveMethod }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let upstream: Awaited<ReturnType<typeof startFormUpstream>>;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startFormUpstream();
  gw = await startTestGateway(`connections:
  - { name: shop, kind: http, url: "${upstream.url}/shop" }
policy:
  default: deny
  rules:
    - id: comments
      when: facts.http.method == "POST" && facts.http.path == "/comments"
      effect: allow
    - id: staging-only
      when: facts.http.method == "GET" && facts.http.path == "/deploy" && "x-env" in action.input.headers && action.input.headers["x-env"] == "staging"
      effect: allow
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
    - id: transfers
      when: facts.http.method == "POST" && facts.http.path == "/transfers"
      effect: allow
    - id: reports
      when: facts.http.method == "GET" && facts.http.path == "/reports"
      effect: allow
    - id: no-production-reports
      when: facts.http.path == "/reports" && has(facts.http.query.env) && "production" in facts.http.query.env
      effect: deny
    - id: big-transfers
      when: facts.http.path == "/transfers" && has(action.input.body.amount) && action.input.body.amount > 1000
      effect: deny
    - id: releases
      when: facts.http.method == "GET" && facts.http.path == "/release"
      effect: allow
    - id: no-production-releases
      when: facts.http.path == "/release" && "x-env" in action.input.headers && action.input.headers["x-env"] == "production"
      effect: deny
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const send = (input: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'shop', input, reason: 'read twice' } });

describe('a JSON body sent under a form Content-Type', () => {
  it('an object whose text reads as a form carrying _method → 422 INPUT_UNPARSEABLE, nothing sent', async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    for (const input of [
      { method: 'POST', path: '/comments', headers: form, body: { text: '&_method=DELETE&' } },
      { method: 'POST', path: '/comments', headers: form, body: { 'x&_method=DELETE&y': 1 } },
      { method: 'POST', path: '/comments', headers: form, body: ['&_method=delete&'] },
      { method: 'POST', path: '/comments', headers: form, body: { nested: { deeper: '&_method=DELETE' } } },
    ]) {
      const before = upstream.seen.length;
      const res = await send(input);
      expect(res.status, JSON.stringify(input.body)).toBe(422);
      expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
      expect(res.body.error.message).toMatch(/_method/);
      expect(upstream.seen.length).toBe(before);
    }
  });

  it('a body whose text holds no method field is refused too (JSON under a form type), and runs as written under a JSON one', async () => {
    const before = upstream.seen.length;
    const refused = await send({ method: 'POST', path: '/comments', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: { text: 'fish and chips', method: 'by hand' } });
    expect([refused.status, refused.body.error?.code]).toEqual([422, 'INPUT_UNPARSEABLE']);
    expect(upstream.seen.length).toBe(before);
    const res = await send({ method: 'POST', path: '/comments', headers: { 'Content-Type': 'application/json' }, body: { text: 'fish and chips', method: 'by hand' } });
    expect(res.status).toBe(200);
    expect(res.body.result.body).toEqual({ method: 'POST' });
    expect(upstream.seen.at(-1)!.body).toBe('{"text":"fish and chips","method":"by hand"}');
  });
});

describe('a header named twice in different case', () => {
  it.each([
    [{ 'x-env': 'production', 'X-Env': 'staging' }],
    [{ X_Env: 'production', 'X-Env': 'staging' }],
    [{ 'X-Env': 'staging', 'X-ENV': 'production' }],
  ])('%j → 422 INPUT_UNPARSEABLE, nothing sent', async (headers) => {
    const before = upstream.seen.length;
    const res = await send({ method: 'GET', path: '/deploy', headers });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(/X-Env/i);
    expect(upstream.seen.length).toBe(before);
  });

  it('named once, it is judged and sent as written', async () => {
    const res = await send({ method: 'GET', path: '/deploy', headers: { 'X-Env': 'staging' } });
    expect(res.status).toBe(200);
    const raw = upstream.seen.at(-1)!.rawHeaders;
    const values = raw.filter((_v, i) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'x-env');
    expect(values).toEqual(['staging']);
  });
});

describe('a header named in any spelling', () => {
  // Policy sees header names as servers read them: lower-case, `_` and `.` as `-` (a CGI/WSGI server reads X_Env as
  // HTTP_X_ENV, the same variable as X-Env): a rule on the header cannot be walked around by how it is spelt.
  it.each(['X-Env', 'x-env', 'X-ENV', 'X_ENV', 'x_env', 'x.env'])('%s: production → 403 POLICY_DENIED, nothing sent; staging → allowed', async (name) => {
    const before = upstream.seen.length;
    const denied = await send({ method: 'GET', path: '/release', headers: { [name]: 'production' } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('POLICY_DENIED');
    expect(upstream.seen.length).toBe(before);
    const allowed = await send({ method: 'GET', path: '/deploy', headers: { [name]: 'staging' } });
    expect(allowed.status).toBe(200);
    expect(upstream.seen.length).toBe(before + 1);
  });

  it('the request as shown keeps the name as sent, its value redacted', async () => {
    const res = await send({ method: 'GET', path: '/deploy', headers: { X_ENV: 'staging' } });
    expect(res.status).toBe(200);
    const shown = await gw.as('deploy-bot', `/v1/requests/${res.body.id as string}`);
    expect(shown.status, JSON.stringify(shown.body)).toBe(200);
    expect(shown.body.action.input.headers).toEqual({ X_ENV: '[redacted]' });
  });
});

describe('a body key named in any case', () => {
  // Go's encoding/json, .NET and Jackson read {"AMOUNT": …} as the field amount: policy sees body keys folded so too.
  it.each([{ AMOUNT: 100000 }, { Amount: 100000 }, { amount: 100000 }, { 'amount\u0000x': 100000 }])('%j → 403 POLICY_DENIED, nothing sent', async (body) => {
    const before = upstream.seen.length;
    const res = await send({ method: 'POST', path: '/transfers', headers: { 'Content-Type': 'application/json' }, body });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('POLICY_DENIED');
    expect(upstream.seen.length).toBe(before);
  });

  it('a small amount is sent as written', async () => {
    const res = await send({ method: 'POST', path: '/transfers', headers: { 'Content-Type': 'application/json' }, body: { Amount: 10 } });
    expect(res.status).toBe(200);
    expect(upstream.seen.at(-1)!.body).toBe('{"Amount":10}');
  });
});

describe('a query parameter named in any case', () => {
  // ASP.NET's binding reads ?ENV= as env: policy sees query names folded so too.
  it.each(['/reports?env=production', '/reports?ENV=production', '/reports?Env=production'])('%s → 403 POLICY_DENIED, nothing sent', async (path) => {
    const before = upstream.seen.length;
    const res = await send({ method: 'GET', path });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('POLICY_DENIED');
    expect(upstream.seen.length).toBe(before);
  });
});

describe('a header value with whitespace at either end', () => {
  // HTTP/1.1 (RFC 9110 §5.5): a recipient strips the whitespace around a field value; policy reads it as written.
  // \xA0 and \x85 reach a Node or WSGI app as Latin-1 characters that its trim() or strip() drops.
  it.each(['production ', ' production', 'production\t', '\tproduction', 'production\u00a0', '\u0085production'])('%j, which the upstream reads as production → 422 INPUT_UNPARSEABLE, nothing sent', async (value) => {
    const before = upstream.seen.length;
    const res = await send({ method: 'GET', path: '/release', headers: { 'X-Env': value } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.seen.length).toBe(before);
  });

  it('inside the value, whitespace is kept and sent as written', async () => {
    const res = await send({ method: 'GET', path: '/release', headers: { 'X-Env': 'staging  two' } });
    expect(res.status).toBe(200);
    const raw = upstream.seen.at(-1)!.rawHeaders;
    expect(raw[raw.findIndex((h) => h.toLowerCase() === 'x-env') + 1]).toBe('staging  two');
  });
});
