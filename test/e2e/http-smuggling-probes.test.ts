/**
 * What an agent holding only its API key can put in an HTTP action to make
 * the upstream act on something other than what policy judged and the
 * reviewer saw, probed against a real local upstream that records what it
 * received. A rule allows writes under /public only; the injected credential
 * must be the only one the upstream reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const TOKEN = 'gw-cred-Lp4Qz8Xv2N';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(
    `connections:
  - name: files
    kind: http
    url: ${upstream.url}
    headers: { Authorization: "Bearer \${FILES_TOKEN}" }
  - name: dav
    kind: http
    url: ${upstream.url}
    allow: { headers: [Destination] }
policy:
  default: deny
  rules:
    - id: public-only
      when: facts.http.path.startsWith("/public/")
      effect: allow
`,
    { env: { FILES_TOKEN: TOKEN } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const send = (input: Record<string, unknown>) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'files', input, reason: 'probe' } });

/** What the upstream received from the one call `input` makes, or nothing when it was refused. */
async function received(input: Record<string, unknown>) {
  const before = upstream.calls.length;
  const res = await send(input);
  return { res, calls: upstream.calls.slice(before) };
}

describe('a header that names a second resource for the call to write', () => {
  it.each(['Destination', 'destination', 'DESTINATION'])('WebDAV MOVE/COPY with %s (the target path policy never judged, shown to reviewers as [redacted]) → 422, nothing sent', async (name) => {
    for (const method of ['MOVE', 'COPY']) {
      const { res, calls } = await received({ method, path: '/public/a.txt', headers: { [name]: `${upstream.url}/admin/config` } });
      expect(res.status, method).toBe(422);
      expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
      expect(calls).toEqual([]);
    }
  });
});

describe('a header that names a second resource for the call to read', () => {
  it.each([
    ['X-Copy-From', '/private/secret'],
    ['X-Copy-From-Account', 'AUTH_other'],
    ['Destination-Account', 'AUTH_other'],
    ['x-amz-copy-source', 'private-bucket/secret'],
    ['x-goog-copy-source', 'private-bucket/secret'],
    ['x-ms-copy-source', 'https://other.blob.core.windows.net/private/secret'],
    ['x-oss-copy-source', '/private-bucket/secret'],
    // S3 RenameObject and ADLS Gen2 rename move the object they name (gone from there) into the path.
    ['x-amz-rename-source', '/private-bucket/secret'],
    ['x-ms-rename-source', '/private/secret'],
    // Huawei OBS, Baidu BOS: their own prefix on the same copy.
    ['x-obs-copy-source', '/private-bucket/secret'],
    ['X-Bce-Copy-Source', '/private-bucket/secret'],
  ])('a PUT under /public with %s (object stores copy from the path it names, which policy never judged) → 422, nothing sent', async (name, value) => {
    const { res, calls } = await received({ method: 'PUT', path: '/public/copy', headers: { [name]: value } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });
});

describe('a header that names the tenant the path is read in', () => {
  it.each([
    // Grafana Mimir, Loki, Tempo, Cortex: the tenant whose data the query reads.
    ['X-Scope-OrgID', 'other-team'],
    // Grafana: the organisation the API call acts in.
    ['X-Grafana-Org-Id', '2'],
    // Vault Enterprise and Consul Enterprise: the namespace the path is resolved in.
    ['X-Vault-Namespace', 'other-team/'],
    ['X-Consul-Namespace', 'other-team'],
    // OpenSearch Security: the tenant of Dashboards objects.
    ['securitytenant', 'global_tenant'],
  ])('a GET under /public with %s (the same path in another tenant, which policy never judged) → 422, nothing sent', async (name, value) => {
    const { res, calls } = await received({ method: 'GET', path: '/public/query', headers: { [name]: value } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });
});

describe('a multipart part header written with space before its colon', () => {
  it.each([' :', '\t:', '  :'])('Content-Disposition%s naming _method (undici’s formData, and so Hono’s method override, read it) → 422, nothing sent', async (colon) => {
    const body = `--XX\r\nContent-Disposition${colon} form-data; name="_method"\r\n\r\nDELETE\r\n--XX--\r\n`;
    // The upstream's own reader finds the field: what policy must see too.
    const form = await new Response(body, { headers: { 'content-type': 'multipart/form-data; boundary=XX' } }).formData();
    expect([...form.keys()]).toEqual(['_method']);
    const { res, calls } = await received({ method: 'POST', path: '/public/x', headers: { 'Content-Type': 'multipart/form-data; boundary=XX' }, body });
    expect(res.status).toBe(422);
    expect(calls).toEqual([]);
  });
});

describe('a field name or JSON key with a NUL in it', () => {
  // PHP reads a field name as a C string (main/php_variables.c: var_len = strlen(var_name)): `_method%00x` is `_method`
  // to $_GET, $_POST and so Symfony's and Laravel's method override, and `role%00x` is `role`; policy saw another name.
  // A JSON reader that keeps keys as C strings (cJSON) reads `amount\u0000` as `amount`, and finds the first copy.
  it.each([
    ['a method override in the query', { method: 'POST', path: '/public/x?_method%00x=DELETE' }],
    ['a method override in the query object', { method: 'POST', path: '/public/x', query: { '_method\u0000': 'DELETE' } }],
    ['a second copy of a query field', { method: 'GET', path: '/public/x?role=user&role%00=admin' }],
    ['a query field policy would not know', { method: 'GET', path: '/public/x?role%00x=admin' }],
    ['a method override in a form body', { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&_method%00=DELETE' }],
    ['a JSON body with a second copy of a key', { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'application/json' }, body: '{"amount\\u0000":100000,"amount":1}' }],
    ['a method override as a multipart part', { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'multipart/form-data; boundary=XX' }, body: '--XX\r\nContent-Disposition: form-data; name="_method\u0000x"\r\n\r\nDELETE\r\n--XX--\r\n' }],
  ])('%s → 422, nothing sent', async (_what, input) => {
    const { res, calls } = await received(input);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });
});

describe('a field name in brackets, or after a ;', () => {
  // Rack 2 (Rails 7.0 and before) reads a name by /\A[\[\]]*([^\[\]]+)\]*/: leading brackets and the closing ones after
  // the field go, so `]_method`, `[_method]` and `_method]` are `_method` to Rack::MethodOverride, `[role]` is `role`
  // (qs, Express's extended parser, reads `[_method]` and `[role]` so too).
  it.each([
    ['a method override in a form body, bracketed', { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1&[_method]=DELETE' }],
    ['a method override in a form body, closed', { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '_method]=DELETE' }],
    ['a method override in the query, opened by ]', { method: 'POST', path: '/public/x?]_method=DELETE' }],
    // Readers that split a form on ; as well as & (Django before 3.2, with django-method-override; Perl's CGI and HTTP::Body; Go before 1.17).
    ['a method override after a ; in a form body', { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1;_method=DELETE' }],
    ['a second copy of a query field', { method: 'GET', path: '/public/x?role=user&[role]=admin' }],
  ])('%s → 422, nothing sent', async (_what, input) => {
    const { res, calls } = await received(input);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });
});

describe('a query of more parameters than upstreams read', () => {
  // PHP (max_input_vars) and qs (Express's query parser, parameterLimit) keep the first 1,000 and drop the rest without
  // a word: a `dry_run=true` policy judged at the end of a long query never reaches the upstream.
  const filler = Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join('&');

  it('1,001 parameters → 422, nothing sent', async () => {
    const { res, calls } = await received({ method: 'POST', path: `/public/deploy?${filler}&dry_run=true` });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });

  it('1,001 values of the query object → 422, nothing sent', async () => {
    const { res, calls } = await received({ method: 'POST', path: `/public/deploy?${filler}`, query: { dry_run: 'true' } });
    expect(res.status).toBe(422);
    expect(calls).toEqual([]);
  });

  it('1,000 parameters go through, every one of them', async () => {
    const { res, calls } = await received({ method: 'GET', path: `/public/x?${filler}` });
    expect(res.body.status).toBe('succeeded');
    expect(new URL(calls[0]!.url, 'http://h').searchParams.size).toBe(1000);
  });
});

describe('more headers than upstreams read', () => {
  // Node's HTTP server keeps the first 1,000 headers (maxHeadersCount: 2,000 names and values) and drops the rest without
  // a word: an If-Match a policy required, sent after 1,000 others, never reached the upstream (nor did the connection's
  // credential), and the write ran unconditionally.
  it('a PUT with 1,000 headers before its If-Match → 422, nothing sent', async () => {
    const headers: Record<string, string> = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`h${i.toString(36)}`, '']));
    headers['If-Match'] = '"v1"';
    const { res, calls } = await received({ method: 'PUT', path: '/public/doc', headers, body: 'new' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });

  it('100 headers go through, every one of them', async () => {
    const headers: Record<string, string> = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`h${i}`, 'x']));
    const { res, calls } = await received({ method: 'GET', path: '/public/x', headers });
    expect(res.body.status).toBe('succeeded');
    expect(calls[0]!.headers['h99']).toBe('x');
  });
});

describe('a connection that allows Destination', () => {
  it('sends it, and reviewers and the request record see where the call writes', async () => {
    const before = upstream.calls.length;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'dav', input: { method: 'MOVE', path: '/public/a.txt', headers: { Destination: '/public/b.txt' } }, reason: 'rename' } });
    expect(res.body.status).toBe('succeeded');
    expect(res.body.action.input.headers).toEqual({ Destination: '/public/b.txt' });
    expect(upstream.calls[before]!.headers['destination']).toBe('/public/b.txt');
  });
});

describe('probes that were already safe', () => {
  it('the agent’s Authorization in any spelling never reaches the upstream beside the injected one', async () => {
    for (const name of ['authorization', 'AUTHORIZATION', 'Authorization']) {
      const { res, calls } = await received({ method: 'GET', path: '/public/x', headers: { [name]: 'Bearer agent-own-token' } });
      expect(res.body.status).toBe('succeeded');
      expect(calls[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    }
  });

  it('Host, Content-Length, Transfer-Encoding, Connection and TE from the agent are dropped: one Host (the upstream’s), a framing the gateway chose, the credential kept', async () => {
    const { res, calls } = await received({
      method: 'POST',
      path: '/public/x',
      headers: { Host: 'evil.example', 'Content-Length': '0', 'Transfer-Encoding': 'chunked', Connection: 'close, Authorization', TE: 'trailers', 'Keep-Alive': 'timeout=1' },
      body: 'a=1',
    });
    expect(res.body.status).toBe('succeeded');
    const h = calls[0]!.headers;
    expect(h['host']).toBe(new URL(upstream.url).host);
    expect(h['transfer-encoding']).toBeUndefined();
    expect(h['content-length']).toBe('3');
    expect(h['connection']).not.toMatch(/authorization/i);
    expect(h['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(calls[0]!.body).toBe('a=1');
  });

  it('a repeated query key goes upstream with every value policy saw; ; & = and # in values go escaped, so no reader splits them into other keys', async () => {
    const { res, calls } = await received({ method: 'GET', path: '/public/x?a=1&a=2', query: { b: 'x;a=3&a=4#f' } });
    expect(res.body.status).toBe('succeeded');
    expect(res.body.facts.http.query).toEqual({ a: ['1', '2'], b: ['x;a=3&a=4#f'] });
    expect(calls[0]!.url).toBe('/public/x?a=1&a=2&b=x%3Ba%3D3%26a%3D4%23f');
  });

  it.each([
    ['/public/../admin'],
    ['/public/%2e%2e/admin'],
    ['/public/%2Fadmin'],
    ['/public\\..\\admin'],
    ['//evil.host/public/x'],
    ['/public/x%00'],
    ['/public/x%25'],
    ['/public/%c0%af'],
  ])('path %s → 422 before anything is sent', async (path) => {
    const { res, calls } = await received({ method: 'GET', path });
    expect(res.status).toBe(422);
    expect(calls).toEqual([]);
  });

  it('an absolute-form or zone-id target is not a path → 400, nothing sent', async () => {
    for (const path of ['http://evil.host/public/x', '[fe80::1%25eth0]/public/x']) {
      const { res, calls } = await received({ method: 'GET', path });
      expect(res.status).toBe(400);
      expect(calls).toEqual([]);
    }
  });

  it('@ in the path stays in the path of the configured upstream', async () => {
    const { res, calls } = await received({ method: 'GET', path: '/public/user@evil.host/x' });
    expect(res.body.status).toBe('succeeded');
    expect(calls[0]!.url).toBe('/public/user@evil.host/x');
    expect(calls[0]!.headers['host']).toBe(new URL(upstream.url).host);
  });

  it('method overrides in headers, query or body → 422, nothing sent', async () => {
    for (const input of [
      { method: 'POST', path: '/public/x', headers: { 'X-HTTP-Method-Override': 'DELETE' } },
      { method: 'POST', path: '/public/x', headers: { X_Method_Override: 'DELETE' } },
      { method: 'POST', path: '/public/x?_method=DELETE' },
      { method: 'POST', path: '/public/x', body: { _method: 'DELETE' } },
    ]) {
      const { res, calls } = await received(input);
      expect(res.status, JSON.stringify(input)).toBe(422);
      expect(calls).toEqual([]);
    }
  });

  it('a JSON body with a number past 2^53 goes as the stored action holds it, which is what reviewers see', async () => {
    const raw = '{"connection":"files","input":{"method":"POST","path":"/public/x","body":{"amount":9007199254740993,"name":"x"}},"reason":"probe"}';
    const before = upstream.calls.length;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: raw });
    expect(res.body.status).toBe('succeeded');
    const sent = upstream.calls[before]!.body;
    expect(JSON.stringify(res.body.action.input.body)).toBe(sent);
  });

  // Policy reads `body.role` and finds none; an upstream in JavaScript that copies the body by assignment
  // (`Object.assign(user, req.body)`, a for…in copy) makes what `__proto__` holds the copy's prototype, and reads `role`
  // from it. As with MCP arguments, such a body is refused before policy, at any depth, given as a value or as JSON text.
  it('a JSON body with a __proto__ key anywhere is refused before policy, and nothing reaches the upstream', async () => {
    const bodies = [
      '{"name":"x","__proto__":{"role":"admin"}}',
      '{"user":{"name":"x","__proto__":{"role":"admin"}}}',
      '{"users":[{"name":"x"},{"\\u005f_proto__":{"role":"admin"}}]}',
    ];
    for (const body of bodies) {
      const before = upstream.calls.length;
      const asValue = await gw.as('deploy-bot', '/v1/actions', { body: `{"connection":"files","input":{"method":"POST","path":"/public/x","body":${body}},"reason":"probe"}` });
      expect(asValue.status, body).toBe(422);
      expect(asValue.body.error.code).toBe('INPUT_UNPARSEABLE');
      expect(asValue.body.error.message).toContain('__proto__');
      const asText = await gw.as('deploy-bot', '/v1/actions', {
        body: { connection: 'files', input: { method: 'POST', path: '/public/x', headers: { 'Content-Type': 'application/json' }, body: JSON.parse(JSON.stringify(body)) }, reason: 'probe' },
      });
      expect(asText.status, body).toBe(422);
      expect(asText.body.error.code).toBe('INPUT_UNPARSEABLE');
      expect(upstream.calls.length).toBe(before);
    }
    const list = await gw.as('deploy-bot', '/v1/requests?limit=5');
    expect(JSON.stringify(list.body)).not.toContain('"role":"admin"');
  });
});
