/**
 * HTTP policy judges the path the upstream acts on: a deny on `/admin` holds
 * against `/admin/`, `/admin//` and, on a connection declared case-insensitive,
 * `/ADMIN`. Client-address headers an agent sends (X-Forwarded-For, X-Real-IP,
 * …) and headers that say who is calling (Impersonate-*, X-Remote-User, …)
 * never reach the upstream unless the connection allows them, and
 * method-override query parameters are refused unless allowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - { name: exact, kind: http, url: "${upstream.url}/exact" }
  - { name: anycase, kind: http, url: "${upstream.url}/anycase", paths: { caseInsensitive: true } }
  - { name: slashed, kind: http, url: "${upstream.url}/slashed", paths: { keepTrailingSlash: true } }
  - { name: proxied, kind: http, url: "${upstream.url}/proxied", allow: { headers: [X-Forwarded-For, X-Remote-User], query: [method] } }
policy:
  default: allow
  rules:
    - id: no-admin
      when: facts.http.path == "/admin" || facts.http.path.startsWith("/admin/")
      effect: deny
    - id: no-cancel
      when: facts.http.path.endsWith(":cancel")
      effect: deny
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const send = (connection: string, input: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { method: 'GET', ...input }, reason: 'paths' } });

async function lastCallFor(connection: string, input: Record<string, unknown>) {
  const before = upstream.calls.length;
  const res = await send(connection, input);
  expect(res.status).toBe(200);
  expect(upstream.calls.length).toBe(before + 1);
  return upstream.calls.at(-1)!;
}

describe('paths', () => {
  it.each([
    ['exact', '/admin/'],
    ['exact', '/admin//'],
    ['exact', '/admin///'],
    ['exact', '/admin//users'],
    ['anycase', '/ADMIN'],
    ['anycase', '/Admin/'],
    ['anycase', '/%41dmin/Users'],
  ])('on %s, %s is judged as /admin and denied', async (connection, path) => {
    const before = upstream.calls.length;
    const res = await send(connection, { path });
    expect(res.status).toBe(403);
    expect(res.body.error.rules).toContain('no-admin');
    expect(upstream.calls.length).toBe(before);
  });

  it('a case-insensitive connection sends the path in lower case, as policy judged it', async () => {
    const call = await lastCallFor('anycase', { path: '/Reports/Q3' });
    expect(call.url).toBe('/anycase/reports/q3');
  });

  it('a case-sensitive connection keeps the case; the upstream gets the path without the trailing slash or repeated slashes, as policy judged it', async () => {
    expect((await lastCallFor('exact', { path: '/ADMIN' })).url).toBe('/exact/ADMIN');
    expect((await lastCallFor('exact', { path: '/items/' })).url).toBe('/exact/items');
    expect((await lastCallFor('exact', { path: '/a//b' })).url).toBe('/exact/a/b');
  });

  it('a connection that keeps the trailing slash sends it, and a rule on the prefix still holds', async () => {
    expect((await lastCallFor('slashed', { path: '/items/' })).url).toBe('/slashed/items/');
    const before = upstream.calls.length;
    expect((await send('slashed', { path: '/admin/' })).status).toBe(403);
    expect(upstream.calls.length).toBe(before);
  });

  it('facts show the canonical path', async () => {
    const res = await gw.as('deploy-bot', '/v1/policy/simulate', { body: { connection: 'anycase', input: { method: 'GET', path: '/Items//One/' } } });
    expect(res.status).toBe(200);
    expect(res.body.facts.http.path).toBe('/items/one');
  });
});

describe('paths an upstream would read as another path', () => {
  // Flask strips \x85 and \xA0 from a route, Express \xA0, Spring trims spaces around segments, IIS drops a trailing dot; an upstream that
  // normalises Unicode (NFKC) reads a fullwidth ／ or ． as / or .; a lenient UTF-8 decoder reads %C0%AF as /.
  it.each([
    '/admin\u0085',
    '/admin%C2%85',
    '/admin%C2%A0',
    '/admin%E2%80%8B',
    '/admin%20',
    '/admin.',
    '/admin../users',
    '/admin%20/users',
    '/%20admin',
    '/admin%EF%BC%8Fusers',
    '/admin\uff0fusers',
    '/admin%C0%AFusers',
    '/admin%FF',
    '/%EF%BC%8E%EF%BC%8E/admin',
    '/admin\u00e9',
    '/admin"',
    '/admin{x}',
  ])('%j → 422 INPUT_UNPARSEABLE, nothing sent', async (path) => {
    const calls = upstream.calls.length;
    const res = await send('exact', { path });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.calls.length).toBe(calls);
  });

  // Java's equalsIgnoreCase (Spring, servlet filters) and other upper-casing matchers read `ı` as `i`, `İ` as `i`,
  // `ß` as `SS`: on a connection whose upstream ignores case, `/admın` is `/admin` there, and policy folds ASCII only.
  it.each(['/adm%C4%B1n', '/adm%C4%B0n/users', '/%C3%9Fecrets', '/%C7%B0obs'])('on a case-insensitive connection, %j → 422 INPUT_UNPARSEABLE, nothing sent', async (path) => {
    const calls = upstream.calls.length;
    const res = await send('anycase', { path });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.calls.length).toBe(calls);
  });

  // Servers that decode the path before routing (Go's r.URL.Path, so grpc-gateway's custom verbs; Spring, Werkzeug,
  // Django) read %3A as :, %40 as @: policy judges the path with those characters as they are, and sends it so.
  it.each(['/jobs/7%3Acancel', '/jobs/7%3acancel', '/jobs/%37%3Acancel'])('%j is judged as /jobs/7:cancel and denied, nothing sent', async (path) => {
    const calls = upstream.calls.length;
    const res = await send('exact', { path });
    expect(res.status).toBe(403);
    expect(res.body.error.rules).toContain('no-cancel');
    expect(upstream.calls.length).toBe(calls);
  });

  it('escapes of the other characters a path may hold as they are decode to them, as the upstream gets it; %2B is sent as written', async () => {
    expect((await lastCallFor('exact', { path: '/users/alice%40example.com/%21%24%26%27%28%29%2A%2C%3D' })).url).toBe("/exact/users/alice@example.com/!$&'()*,=");
    expect((await lastCallFor('exact', { path: '/tags/c%2B%2B/c++' })).url).toBe('/exact/tags/c%2B%2B/c++');
  });

  it('a space inside a segment and escaped UTF-8 letters still pass, as sent', async () => {
    expect((await lastCallFor('exact', { path: '/files/my%20doc' })).url).toBe('/exact/files/my%20doc');
    expect((await lastCallFor('exact', { path: '/caf%C3%A9' })).url).toBe('/exact/caf%C3%A9');
  });
});

describe('client-address headers', () => {
  const spoofed = { 'X-Forwarded-For': '10.0.0.1', 'X-Real-IP': '10.0.0.2', 'True-Client-IP': '10.0.0.3', 'CF-Connecting-IP': '10.0.0.4', 'X-Client-IP': '10.0.0.5', 'X-Forwarded-Proto': 'https', 'X-Request-Id': 'kept' };

  it('are dropped before the call, spelt with underscores too (CGI reads X_Real_IP as X-Real-IP)', async () => {
    const call = await lastCallFor('exact', { path: '/whoami', headers: { ...spoofed, X_Real_IP: '10.0.0.9', x_forwarded_for: '10.0.0.8' } });
    expect(call.headers['x_real_ip']).toBeUndefined();
    expect(call.headers['x_forwarded_for']).toBeUndefined();
    for (const h of ['x-forwarded-for', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'x-client-ip', 'x-forwarded-proto']) expect(call.headers[h]).toBeUndefined();
    expect(call.headers['x-request-id']).toBe('kept');
  });

  it('pass when the connection allows them, and only those', async () => {
    const call = await lastCallFor('proxied', { path: '/whoami', headers: spoofed });
    expect(call.headers['x-forwarded-for']).toBe('10.0.0.1');
    expect(call.headers['x-real-ip']).toBeUndefined();
  });
});

describe('client-address headers of ingress-nginx, Azure Front Door and Google', () => {
  it('are dropped before the call too', async () => {
    const spoofed = { 'X-Original-Forwarded-For': '10.0.0.1', 'X-Azure-ClientIP': '10.0.0.2', 'X-Azure-SocketIP': '10.0.0.3', 'X-AppEngine-User-IP': '10.0.0.4', 'X-ProxyUser-Ip': '10.0.0.5' };
    const call = await lastCallFor('exact', { path: '/whoami', headers: spoofed });
    for (const h of Object.keys(spoofed)) expect(call.headers[h.toLowerCase()], h).toBeUndefined();
  });
});

describe('identity headers', () => {
  // What an upstream behind an authenticating proxy, or with impersonation, reads as who is calling: sent by the agent,
  // the gateway's credential would act as whoever the agent names.
  const asserted = {
    'Impersonate-User': 'system:admin',
    'Impersonate-Group': 'system:masters',
    'X-Remote-User': 'admin',
    'X-Remote-Group': 'admins',
    'X-Auth-Request-Email': 'admin@example.com',
    'X-WEBAUTH-USER': 'admin',
    'Remote-User': 'admin',
    'X-Authenticated-Userid': 'admin',
    'X-Consumer-Username': 'admin',
    'X-Ms-Client-Principal-Name': 'admin@example.com',
    'X-Goog-Authenticated-User-Email': 'accounts.google.com:admin@example.com',
    'X-Amzn-Oidc-Identity': 'admin',
    'Cf-Access-Authenticated-User-Email': 'admin@example.com',
    'X-Ssl-Client-S-Dn': 'CN=admin',
    'X-Request-Id': 'kept',
  };

  it('are dropped before the call, spelt with underscores too', async () => {
    const call = await lastCallFor('exact', { path: '/whoami', headers: { ...asserted, Impersonate_Uid: '0', 'Impersonate-Extra-Scopes': 'all' } });
    for (const h of Object.keys(asserted).filter((h) => h !== 'X-Request-Id')) expect(call.headers[h.toLowerCase()], h).toBeUndefined();
    expect(call.headers['impersonate_uid']).toBeUndefined();
    expect(call.headers['impersonate-extra-scopes']).toBeUndefined();
    expect(call.headers['x-request-id']).toBe('kept');
  });

  it('are dropped in the spellings of Authelia and authentik too (groups, email, name, jwt)', async () => {
    // Forward-auth proxies hand these to what stands behind them; Grafana or an app's header auth maps groups to roles.
    const more = {
      'Remote-Groups': 'admins',
      'Remote-Email': 'admin@example.com',
      'Remote-Name': 'Admin',
      'X-authentik-username': 'admin',
      'X-authentik-groups': 'admins',
      'X-authentik-email': 'admin@example.com',
      'X-authentik-jwt': 'eyJ.x.y',
      'X-Forwarded-Groups': 'admins',
      'X-Email': 'admin@example.com',
      'X-Groups': 'admins',
    };
    const call = await lastCallFor('exact', { path: '/whoami', headers: { ...more, Remote_Groups: 'admins' } });
    for (const h of Object.keys(more)) expect(call.headers[h.toLowerCase()], h).toBeUndefined();
    expect(call.headers['remote_groups']).toBeUndefined();
  });

  it('are dropped in the spellings of Tailscale Serve, vouch-proxy, mod_auth_openidc, Teleport, Elasticsearch and OpenSearch too', async () => {
    // Each proxy asserts who is calling to the app behind it; the app trusts them as it trusts the proxy.
    const more = {
      'Tailscale-User-Login': 'admin@example.com',
      'Tailscale-User-Name': 'Admin',
      'Tailscale-App-Capabilities': '{"example.com/cap/admin":[{}]}',
      'X-Vouch-User': 'admin@example.com',
      'X-Vouch-Idp-Claims-Groups': 'admins',
      OIDC_CLAIM_email: 'admin@example.com',
      OIDC_CLAIM_groups: 'admins',
      OIDC_access_token: 'eyJ.x.y',
      OIDC_id_token_payload: '{"sub":"admin"}',
      'Teleport-Jwt-Assertion': 'eyJ.x.y',
      // Run-as and impersonation of Elasticsearch and OpenSearch Security: the gateway's key acting as the user named.
      'es-security-runas-user': 'elastic',
      opendistro_security_impersonate_as: 'admin',
    };
    const call = await lastCallFor('exact', { path: '/whoami', headers: more });
    for (const h of Object.keys(more)) expect(call.headers[h.toLowerCase()], h).toBeUndefined();
  });

  it('pass when the connection allows them, and only those', async () => {
    const call = await lastCallFor('proxied', { path: '/whoami', headers: asserted });
    expect(call.headers['x-remote-user']).toBe('admin');
    expect(call.headers['impersonate-user']).toBeUndefined();
  });
});

describe('method-override query parameters', () => {
  it.each([
    { method: 'POST', path: '/items/7', body: { _method: 'DELETE' } },
    { method: 'POST', path: '/items/7', body: '_method=DELETE&x=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    { method: 'POST', path: '/items/7', body: '{"_method":"DELETE"}', headers: { 'Content-Type': 'application/json' } },
    { method: 'POST', path: '/items/7', body: '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n', headers: { 'Content-Type': 'multipart/form-data; boundary=b' } },
    { method: 'POST', path: '/items/7', body: '--b\r\ncontent-disposition: form-data; NAME=_METHOD\r\n\r\nDELETE\r\n--b--\r\n', headers: { 'Content-Type': 'multipart/form-data; boundary=b' } },
    { method: 'POST', path: '/items/7', headers: { X_HTTP_Method_Override: 'DELETE' } },
    // The common Flask/WSGI reverse-proxy recipe strips X-Script-Name from the path: /public/admin would route as /admin.
    { path: '/public/admin', headers: { 'X-Script-Name': '/public' } },
    { path: '/public/admin', headers: { X_Original_URI: '/admin' } },
    { path: '/public/admin', headers: { 'X-Envoy-Original-Path': '/admin' } },
    { path: '/public/admin', headers: { 'X-Original-Host': 'admin.internal' } },
    { path: '/public/admin', headers: { X_Host: 'admin.internal' } },
    // PHP (Laravel, Symfony) reads a leading space as nothing and ` `, `.` or `[` in a name as `_`, and `_method[x]` as `_method`.
    { method: 'POST', path: '/items/7?.method=DELETE' },
    { method: 'POST', path: '/items/7', query: { ' _method': 'DELETE' } },
    { method: 'POST', path: '/items/7', body: '[method=DELETE', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    { method: 'POST', path: '/items/7', body: '_method[x]=DELETE', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    { path: '/items/7?_method=DELETE' }, { path: '/items/7', query: { _METHOD: 'DELETE' } }, { path: '/items/7?X-HTTP-Method-Override=DELETE' }, { path: '/items/7?method=DELETE' }])('%o → 422 INPUT_UNPARSEABLE, nothing recorded or sent', async (input) => {
    const before = await storeCounts(gw.deps.store);
    const calls = upstream.calls.length;
    const res = await send('exact', input);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    expect(upstream.calls.length).toBe(calls);
  });

  it('pass when the connection allows that name', async () => {
    expect((await lastCallFor('proxied', { path: '/pay?method=card' })).url).toBe('/proxied/pay?method=card');
    expect((await send('proxied', { path: '/pay?_method=DELETE' })).status).toBe(422);
  });
});
