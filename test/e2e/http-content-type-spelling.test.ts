/**
 * Header names are read as CGI and WSGI servers read them (`_` and `.` as `-`), so policy took `Content_Type:
 * application/x-www-form-urlencoded` for the body's Content-Type and read `dry_run=true` as a field: a rule allowing
 * dry runs allowed it. But Node's server (so Express) reads `Content_Type` as a header of its own and the request as
 * untyped: `express.urlencoded()` parsed no form, and the app, seeing no dry_run, paid for real. A Content-Type
 * spelled otherwise than `Content-Type` (any case) is now refused before policy (422 INPUT_UNPARSEABLE), nothing sent.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

interface Req { body?: unknown }
interface Res { json(v: unknown): void }
interface App { use(h: unknown): void; post(path: string, h: (req: Req, res: Res) => void): void; listen(port: number, host: string, cb: () => void): Server }
// Express ships no types here; it is the real framework all the same.
const express = createRequire(import.meta.url)('express') as { (): App; urlencoded(o: { extended: boolean }): unknown };

/** What Express read of each payout: the form fields it parsed. */
const payouts: unknown[] = [];
let server: Server;
let gw: TestGateway;

beforeAll(async () => {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.post('/payouts', (req, res) => {
    payouts.push(req.body ?? {});
    res.json({ read: req.body ?? {} });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  gw = await startTestGateway(`connections:
  - { name: payouts, kind: http, url: "http://127.0.0.1:${(server.address() as { port: number }).port}" }
policy:
  default: deny
  rules:
    - id: dry-runs
      when: facts.http.method == "POST" && facts.http.path == "/payouts" && has(action.input.body.dry_run) && action.input.body.dry_run == ["true"]
      effect: allow
`);
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

const pay = (name: string) =>
  gw.as('deploy-bot', '/v1/actions', {
    body: { connection: 'payouts', input: { method: 'POST', path: '/payouts', headers: { [name]: 'application/x-www-form-urlencoded' }, body: 'dry_run=true&amount=5000' }, reason: 'rehearse' },
  });

it('a Content-Type spelled with _ or . is refused, and Express is not called', async () => {
  for (const name of ['Content_Type', 'content.type', 'CONTENT_TYPE']) {
    const res = await pay(name);
    expect([res.status, res.body.error?.code], `${name}: ${JSON.stringify(res.body)}`).toEqual([422, 'INPUT_UNPARSEABLE']);
  }
  expect(payouts).toEqual([]);
});

it('a Content-Type in any case runs, and Express reads the fields policy judged', async () => {
  for (const name of ['Content-Type', 'content-type', 'CONTENT-TYPE']) {
    const res = await pay(name);
    expect([res.status, res.body.status], `${name}: ${JSON.stringify(res.body)}`).toEqual([200, 'succeeded']);
  }
  expect(payouts).toEqual(Array(3).fill({ dry_run: 'true', amount: '5000' }));
});
