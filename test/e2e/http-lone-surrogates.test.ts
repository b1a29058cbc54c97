/**
 * An HTTP action's text reaches the upstream as UTF-8 bytes (the path and
 * query percent-encoded from them, a text body as they are). A lone UTF-16
 * surrogate (`"\ud800"`, valid in JSON) has no UTF-8 form: it went as U+FFFD
 * (EF BF BD) while policy, reviewers and the audit log saw the surrogate, and
 * every such value matched an approval of any other. It is refused when
 * submitted (400 INVALID_INPUT naming the field), nothing recorded or sent, in
 * the path, query names and values, header names and values, a text body and
 * a JSON body (which JSON.stringify sends escaped, `\ud800`: Flask, as
 * JavaScript's JSON.parse, reads the surrogate back, Go's encoding/json
 * reads U+FFFD, so what runs would depend on the upstream's language). A body given as JSON text that
 * escapes one (`{"text":"a\\ud800b"}`, ASCII on the wire) is refused before
 * policy as other JSON text readers take otherwise (422 INPUT_UNPARSEABLE).
 *
 * The upstreams are real: a Node HTTP server that records the bytes it was
 * sent, and a Flask app (test/support/flask-echo-upstream.py).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveFlask, startFlaskUpstream, type FlaskUpstream } from '../support/flask-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts } from '../support/store-view.ts';

/** What the Node server was sent: the request target and the body, as bytes (hex). */
interface Sent {
  url: string;
  body: string;
}

const sent: Sent[] = [];
let server: Server;
let flask: FlaskUpstream | undefined;
let gw: TestGateway;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sent.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString('hex') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  if (haveFlask) flask = await startFlaskUpstream();
  gw = await startTestGateway(`connections:
  - { name: api, kind: http, url: "http://127.0.0.1:${port}" }
${flask ? `  - { name: flask, kind: http, url: "${flask.url}" }\n` : ''}policy:
  default: allow
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  flask?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

const call = (input: Record<string, unknown>, connection = 'api') => gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'call it' } });

/** Submits, expects 400 INVALID_INPUT naming the field, and that nothing was recorded or sent. */
async function refused(input: Record<string, unknown>, field: string) {
  const before = await storeCounts(gw.deps.store);
  const calls = sent.length;
  const res = await call(input);
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('INVALID_INPUT');
  expect(res.body.error.message).toContain(field);
  expect(res.body.error.message).toMatch(/surrogate/);
  expect(await storeCounts(gw.deps.store)).toEqual(before);
  // A well-formed call after it is the one the upstream gets next.
  expect((await call({ method: 'GET', path: '/after' })).status).toBe(200);
  expect(sent.slice(calls).map((s) => s.url)).toEqual(['/after']);
}

describe('a lone surrogate in what an HTTP action sends', () => {
  it.each([
    ['the path', { method: 'GET', path: '/users/a\ud800b' }, 'path'],
    ['the query string in the path', { method: 'GET', path: '/users?name=a\udc00b' }, 'path'],
    ['a query value', { method: 'GET', path: '/users', query: { name: 'a\ud800b' } }, 'query.name'],
    ['a query value in a list', { method: 'GET', path: '/users', query: { name: ['ok', '\ud800'] } }, 'query.name.1'],
    ['a query name', { method: 'GET', path: '/users', query: { 'n\ud800': 'x' } }, 'query'],
    ['a header value', { method: 'GET', path: '/users', headers: { 'X-Name': 'a\ud800b' } }, 'headers.X-Name'],
    ['a text body', { method: 'POST', path: '/notes', body: 'a\ud800b' }, 'body'],
    ['a JSON body value', { method: 'POST', path: '/notes', body: { text: 'a\ud800b' } }, 'body.text'],
    ['a JSON body key', { method: 'POST', path: '/notes', body: { ['k\udfff']: 1 } }, 'body'],
    ['a JSON body in a list', { method: 'POST', path: '/notes', body: [['\ude00\ud83d']] }, 'body.0.0'],
  ])('%s → 400 INVALID_INPUT at submit, nothing recorded or sent', async (_name, input, field) => {
    await refused(input, field);
  });

  it('a well-formed pair (an emoji) goes as its own UTF-8 bytes in the path, the query and the body', async () => {
    const calls = sent.length;
    // A path holds ASCII only (its UTF-8 percent-escaped): the query and the body carry the character as text.
    const res = await call({ method: 'POST', path: '/users/a%F0%9F%98%80b', query: { q: '\u{1F600}' }, body: 'a\u{1F600}b' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(sent.slice(calls)).toEqual([{ url: '/users/a%F0%9F%98%80b?q=%F0%9F%98%80', body: Buffer.from('a\u{1F600}b').toString('hex') }]);
  });
});

describe('JSON text with an escaped lone surrogate as the body', () => {
  it('→ 422 INPUT_UNPARSEABLE, nothing recorded or sent: policy reads the surrogate, Go\'s encoding/json U+FFFD', async () => {
    const before = await storeCounts(gw.deps.store);
    const calls = sent.length;
    const res = await call({ method: 'POST', path: '/notes', body: '{"text":"a\\ud800b"}' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(res.body.error.message).toMatch(/surrogate/);
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    // An escaped pair is one character to every reader: it goes as written.
    const ok = await call({ method: 'POST', path: '/notes', body: '{"text":"a\\ud83d\\ude00b"}' });
    expect(ok.body.status).toBe('succeeded');
    expect(sent.slice(calls).map((s) => Buffer.from(s.body, 'hex').toString())).toEqual(['{"text":"a\\ud83d\\ude00b"}']);
  });
});

describe.skipIf(!haveFlask)('a JSON body with a lone surrogate, to Flask', () => {
  it('is refused at submit: nothing reaches Python', async () => {
    const before = (await flask!.calls()).length;
    const res = await call({ method: 'POST', path: '/notes', body: { text: 'a\ud800b' } }, 'flask');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_INPUT');
    const ok = await call({ method: 'POST', path: '/notes', body: { text: 'a\u{1F600}b' } }, 'flask');
    expect(ok.status).toBe(200);
    const read = (await flask!.calls()).slice(before);
    // Python's json.dumps of what it read: the pair escaped, as two halves of one character.
    expect(read.map((r) => r.json)).toEqual(['{"text": "a\\ud83d\\ude00b"}']);
  });
});
