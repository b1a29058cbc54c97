/**
 * Percent-escapes that do not decode as UTF-8 (`%FF`, a surrogate `%ED%A0%80`, an overlong `%C0%AE`) in a form body:
 * policy read them through URLSearchParams as U+FFFD, while the body went upstream as written. Express's `qs`
 * (express.urlencoded({ extended: true })) keeps such a value as its text, `%FF`; Flask (Werkzeug) reads U+FFFD; PHP
 * gets the raw bytes. A deny on the value Express reads (`%FF`) let `id=%FF` through, and `%FF`, `%FE` and `%C0%AE`
 * were one value to policy and three to the app. (A query was re-encoded from policy's reading, so sent as U+FFFD:
 * not what the agent wrote.) Both are now refused before policy (422 INPUT_UNPARSEABLE), nothing sent; escapes of
 * valid UTF-8 (`%C3%A9`) run as before.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { haveFlask, startFlaskUpstream, type FlaskUpstream } from '../support/flask-upstream.ts';

interface Req { query: unknown; body?: unknown }
interface App {
  set(name: string, value: string): void;
  use(handler: unknown): void;
  all(path: string, handler: (req: Req, res: { json(v: unknown): void }) => void): void;
  listen(port: number, host: string, done: () => void): Server;
}
const express = createRequire(import.meta.url)('express') as { (): App; urlencoded(o: { extended: boolean }): unknown };

/** What Express (qs, as `extended` apps set it up) read of each call. */
const reads: { query: unknown; body: unknown }[] = [];
let server: Server;
let flask: FlaskUpstream | undefined;
let gw: TestGateway;

beforeAll(async () => {
  const app = express();
  app.set('query parser', 'extended');
  app.use(express.urlencoded({ extended: true }));
  app.all('/items', (req, res) => {
    reads.push({ query: req.query, body: req.body ?? null });
    res.json({ ok: true });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  if (haveFlask) flask = await startFlaskUpstream();
  gw = await startTestGateway(`connections:
  - { name: api, kind: http, url: "${url}" }
  - { name: py, kind: http, url: "${flask?.url ?? url}" }
policy:
  default: deny
  rules:
    - id: no-ff
      when: "'id' in facts.http.query && facts.http.query['id'] == ['%FF']"
      effect: deny
    - id: no-ff-form
      when: facts.http.method == "POST" && has(action.input.body.id) && action.input.body.id == ['%FF']
      effect: deny
    - id: items
      when: facts.http.path == "/items"
      effect: allow
`);
});

afterAll(async () => {
  await gw?.stop();
  flask?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

const send = (input: Record<string, unknown>, connection = 'api') =>
  gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason: 'percent escapes' } });
const form = (body: string) => ({ method: 'POST', path: '/items', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });

describe('percent-escapes that are not UTF-8', () => {
  it('a deny on the value Express reads holds: the same value spelt so policy cannot read it is refused, nothing sent', async () => {
    // The rule holds when policy reads what Express reads.
    for (const input of [{ method: 'GET', path: '/items?id=%25FF' }, form('id=%25FF')]) {
      const denied = await send(input);
      expect(denied.status, JSON.stringify(denied.body)).toBe(403);
      expect(JSON.stringify(denied.body)).toMatch(/no-ff/);
    }
    const before = reads.length;
    for (const input of [
      { method: 'GET', path: '/items?id=%FF' },
      { method: 'GET', path: '/items?id=%ED%A0%80' },
      { method: 'GET', path: '/items?id=%C0%AE' },
      { method: 'GET', path: '/items?%FF=1' },
      form('id=%FF'),
      form('a=1&id=%C0%AE'),
      form('%ED%A0%80=1'),
    ]) {
      const res = await send(input);
      expect(res.status, `${JSON.stringify(input)} ${JSON.stringify(res.body)} ${JSON.stringify(reads.slice(before))}`).toBe(422);
      expect((res.body as { error?: { code?: string } }).error?.code).toBe('INPUT_UNPARSEABLE');
    }
    // A positive call after them: had any gone through, Express would have read it before this one.
    const ok = await send({ method: 'GET', path: '/items?id=%C3%A9' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(reads.slice(before)).toEqual([{ query: { id: 'é' }, body: null }]);
  });

  it('a form of valid UTF-8 escapes runs, and Express reads what policy judged', async () => {
    const before = reads.length;
    const res = await send(form('id=%C3%A9&q=a+b%2B'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(reads.slice(before)).toEqual([{ query: {}, body: { id: 'é', q: 'a b+' } }]);
  });

  it.skipIf(!haveFlask)('to Flask too: %FF and %FE, both U+FFFD to it and to policy but two byte strings on the wire, are refused', async () => {
    for (const input of [{ method: 'GET', path: '/items?id=%FF' }, { method: 'GET', path: '/items?id=%FE' }, form('id=%C0%AE')]) {
      const res = await send(input, 'py');
      expect(res.status, `${JSON.stringify(input)} ${JSON.stringify(res.body)}`).toBe(422);
    }
    const ok = await send({ method: 'GET', path: '/items?id=%C3%A9' }, 'py');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const calls = await flask!.calls();
    expect(calls.map((c) => c.args)).toEqual([{ id: ['é'] }]);
  });
});
