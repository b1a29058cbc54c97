/**
 * Policy reads a body that is a JSON object or array (a JSON value, or text that parses as one) by its fields,
 * whatever its Content-Type, so that a deny on a field holds against an upstream that parses the bytes without
 * looking (Go's decoder). But an upstream that goes by the Content-Type, as Express's `express.json()` does, parses
 * no JSON under `text/plain`, a form type or none at all: a rule allowing dry runs (`body.dryrun == true`) allowed
 * `{"dryRun": true}` sent so, and the app, reading no `dryRun`, deployed for real. Such a body under a Content-Type
 * that is not JSON is refused before policy (422 INPUT_UNPARSEABLE), nothing sent; JSON text without a
 * Content-Type goes as `application/json`, as a JSON value does, so every reader parses what policy judged.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** What Express (express.json(), as an app sets it up) read of each deploy: whether it was a dry run. */
const deploys: { dryRun: boolean; contentType: string | null }[] = [];
let server: Server;
let gw: TestGateway;

beforeAll(async () => {
  const app = createMcpExpressApp();
  app.post('/deploy', (req: { body?: unknown; get(name: string): string | undefined }, res: { json(v: unknown): void }) => {
    const body = (req.body ?? {}) as { dryRun?: unknown };
    deploys.push({ dryRun: body.dryRun === true, contentType: req.get('content-type') ?? null });
    res.json({ deployed: body.dryRun !== true });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  gw = await startTestGateway(`connections:
  - { name: deployer, kind: http, url: "${url}" }
policy:
  default: deny
  rules:
    - id: dry-runs
      when: facts.http.method == "POST" && facts.http.path == "/deploy" && has(action.input.body.dryrun) && action.input.body.dryrun == true
      effect: allow
    - id: deploys
      when: facts.http.method == "POST" && facts.http.path == "/deploy" && !(has(action.input.body.dryrun) && action.input.body.dryrun == true)
      effect: approve
      approvers: [{ groups: [sre] }]
`);
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

const deploy = (body: unknown, contentType?: string) =>
  gw.as('deploy-bot', '/v1/actions', {
    body: { connection: 'deployer', input: { method: 'POST', path: '/deploy', ...(contentType ? { headers: { 'Content-Type': contentType } } : {}), body }, reason: 'try the release' },
  });

it('JSON under a Content-Type that is not JSON is refused before policy, and the app is not called', async () => {
  for (const [body, type] of [
    [{ dryRun: true }, 'text/plain'],
    ['{"dryRun":true}', 'text/plain'],
    [{ dryRun: true }, 'application/x-www-form-urlencoded'],
    ['[{"dryRun":true}]', 'application/octet-stream'],
    // express.json() parses application/json only, not a +json type (Flask's get_json() does).
    [{ dryRun: true }, 'application/vnd.api+json'],
    ['{"dryRun":true}', 'application/merge-patch+json; charset=utf-8'],
  ] as const) {
    const res = await deploy(body, type);
    expect([res.status, res.body.error?.code], `${JSON.stringify(body)} ${type}: ${JSON.stringify(res.body)}`).toEqual([422, 'INPUT_UNPARSEABLE']);
  }
  expect(deploys).toEqual([]);
});

it('JSON the app parses as policy read it runs as the dry run it is, with or without a Content-Type of its own', async () => {
  for (const [body, type] of [
    [{ dryRun: true }, undefined],
    ['{"dryRun":true}', 'application/json; charset=utf-8'],
    ['{"dryRun":true}', undefined],
  ] as const) {
    const res = await deploy(body, type);
    expect([res.status, res.body.status], JSON.stringify(res.body)).toEqual([200, 'succeeded']);
    expect(res.body.result.body).toEqual({ deployed: false });
  }
  expect(deploys.map((d) => d.dryRun)).toEqual([true, true, true]);
});

it('JSON under a Content-Type header given empty is refused too: it goes as no type at all, which express.json() parses none of', async () => {
  for (const type of ['', ' ', '\t']) {
    const res = await gw.as('deploy-bot', '/v1/actions', {
      body: { connection: 'deployer', input: { method: 'POST', path: '/deploy', headers: { 'Content-Type': type }, body: { dryRun: true } }, reason: 'try the release' },
    });
    expect([res.status, res.body.error?.code], `${JSON.stringify(type)}: ${JSON.stringify(res.body)}`).toEqual([422, 'INPUT_UNPARSEABLE']);
  }
  expect(deploys.filter((d) => !d.dryRun)).toEqual([]);
});
