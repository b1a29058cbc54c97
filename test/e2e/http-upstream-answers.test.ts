/**
 * More of what an agent holding only its API key can try on an `http`
 * connection, probed against real local upstreams: an `Expect` header the
 * HTTP client cannot send (the run used to fail after approval), an upstream
 * that answers with the credential's value alone (a cookie echo, as
 * httpbin's `/cookies` gives it), and an upstream that redirects elsewhere
 * (the gateway must not follow it with the credential).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const TOKEN = 'gw-cred-Hs7Lq2Xv9P';
// A session cookie value short enough that no 10-character piece of the whole header is looked for on its own.
const SESSION = 'sess-9Qz4Lm';
const DB_PASSWORD = 'pg-7Kw2x';
// Cookie values with no digit beside a letter: a numeric session id from the environment, and one of letters only written in the file.
const NUMERIC_SID = '83920193746155';
const LETTERS_SID = 'qTrWxYzAbCdEfGhK';

let upstream: Upstream;
type Recorder = { url: string; seen: IncomingMessage[]; close(): Promise<void> };
let elsewhere: Recorder;
let redirector: Recorder;
let gw: TestGateway;

/** A server on a port of its own that records the requests reaching it and answers each as `answer` says. */
async function startRecorder(answer: (req: IncomingMessage) => { status: number; headers: Record<string, string> }): Promise<Recorder> {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req);
    const { status, headers } = answer(req);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
}

beforeAll(async () => {
  elsewhere = await startRecorder(() => ({ status: 200, headers: {} }));
  // Redirects, with the status its path names, to another host (port), another scheme or a path policy denies.
  redirector = await startRecorder((req) => {
    const [, status = '302', where = 'host'] = /^\/public\/(\d+)\/(\w+)/.exec(req.url ?? '') ?? [];
    const location = where === 'host' ? `${elsewhere.url}/public/x` : where === 'scheme' ? `https://127.0.0.1:1/public/x` : '/admin/x';
    return { status: Number(status), headers: { location } };
  });
  upstream = await startUpstream((call) => {
    const path = call.url.split('?')[0];
    // httpbin's /cookies: the request's cookies, parsed, name by name.
    if (path === '/public/cookies') {
      const cookies = Object.fromEntries(String(call.headers.cookie ?? '').split(/;\s*/).map((p) => p.split('=') as [string, string]));
      return { body: { cookies } };
    }
    // A service that says which account it logged in as, quoting the database URL it was given, parsed.
    if (path === '/public/config') {
      const db = new URL(String(call.headers['x-database-url'] ?? ''));
      return { body: { database: { user: db.username, password: db.password, host: db.host } } };
    }
    return { body: { ok: true } };
  });
  gw = await startTestGateway(
    `connections:
  - name: api
    kind: http
    url: ${upstream.url}
    headers: { Authorization: "Bearer \${TOKEN}" }
  - name: session
    kind: http
    url: ${upstream.url}
    headers: { Cookie: "session=\${SESSION}; theme=dark" }
  - name: plain-session
    kind: http
    url: ${upstream.url}
    headers: { Cookie: "sid=\${NUMERIC_SID}; auth=${LETTERS_SID}; theme=dark" }
  - name: dburl
    kind: http
    url: ${upstream.url}
    headers: { X-Database-Url: "postgres://svc:\${DB_PASSWORD}@db.internal:5432/app" }
  - name: moved
    kind: http
    url: ${redirector.url}
    headers: { Authorization: "Bearer \${TOKEN}" }
policy:
  default: deny
  rules:
    - id: public
      when: facts.http.path.startsWith("/public/")
      effect: allow
`,
    { env: { TOKEN, SESSION, DB_PASSWORD, NUMERIC_SID } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  await elsewhere?.close();
  await redirector?.close();
});

const run = (connection: string, input: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'probe' } });

describe('an Expect header', () => {
  it.each(['100-continue', '100-Continue'])('Expect: %s runs, the body sent once and whole (the HTTP client sends no Expect: the gateway frames the call)', async (value) => {
    const before = upstream.calls.length;
    const res = await run('api', { method: 'POST', path: '/public/upload', headers: { Expect: value, 'Content-Type': 'text/plain' }, body: 'payload' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    const calls = upstream.calls.slice(before);
    expect(calls.map((c) => [c.method, c.url, c.body])).toEqual([['POST', '/public/upload', 'payload']]);
    expect(calls[0]!.headers['expect']).toBeUndefined();
    expect(calls[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
  });
});

describe('an upstream that answers with a credential’s value alone', () => {
  it('a cookie of the connection’s Cookie header, echoed by name (httpbin /cookies): its value never comes back or is kept', async () => {
    const res = await run('session', { method: 'GET', path: '/public/cookies' });
    expect(res.body.status).toBe('succeeded');
    const text = JSON.stringify(res.body);
    expect(text).toContain('theme');
    expect(text).not.toContain(SESSION);
    expect(JSON.stringify(await storedAudit(gw.deps.store))).not.toContain(SESSION);
  });

  it('cookies whose values are digits only, or letters only, echoed by name: neither value comes back or is kept', async () => {
    const res = await run('plain-session', { method: 'GET', path: '/public/cookies' });
    expect(res.body.status).toBe('succeeded');
    const text = JSON.stringify(res.body);
    expect(text).toContain('"theme":"dark"');
    for (const value of [NUMERIC_SID, LETTERS_SID]) {
      expect(text, value).not.toContain(value);
      expect(JSON.stringify(await storedAudit(gw.deps.store)), value).not.toContain(value);
    }
  });

  it('the password of a URL the connection sends, quoted parsed: it never comes back or is kept', async () => {
    const res = await run('dburl', { method: 'GET', path: '/public/config' });
    expect(res.body.status).toBe('succeeded');
    const text = JSON.stringify(res.body);
    expect(text).toContain('"user":"svc"');
    expect(text).not.toContain(DB_PASSWORD);
    expect(JSON.stringify(await storedAudit(gw.deps.store))).not.toContain(DB_PASSWORD);
  });
});

describe('an upstream that redirects (held: the gateway does not follow)', () => {
  it.each([301, 302, 303, 307, 308].flatMap((status) => ['host', 'scheme', 'denied'].map((where) => [status, where] as const)))(
    '%i to another %s: the answer is the redirect itself, its Location not passed on, and nothing is sent anywhere else',
    async (status, where) => {
      const before = redirector.seen.length;
      const res = await run('moved', { method: 'POST', path: `/public/${status}/${where}`, body: { a: 1 } });
      expect(res.body.status).toBe('succeeded');
      expect(res.body.result.status).toBe(status);
      expect(JSON.stringify(res.body)).not.toMatch(/location|\/admin|:1\//i);
      expect(redirector.seen.length - before).toBe(1);
      expect(redirector.seen[before]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(elsewhere.seen).toEqual([]);
    },
  );
});
