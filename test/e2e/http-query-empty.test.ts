/**
 * A query parameter given as an empty list of values (`query: {dry_run: []}`) is a name policy saw and the upstream
 * never got: `"dry_run" in facts.http.query` held, so a rule allowing dry runs allowed the call, and the upstream,
 * sent no `dry_run` at all, deployed for real. Such a parameter is refused before policy (422 INPUT_UNPARSEABLE),
 * nothing is sent; a flag given as the upstream gets it (`?dry_run`, `dry_run: ""`) still runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - { name: deployer, kind: http, url: "${upstream.url}" }
policy:
  default: deny
  rules:
    - id: dry-runs
      when: facts.http.method == "POST" && facts.http.path == "/deploy" && "dry_run" in facts.http.query
      effect: allow
    - id: deploys
      when: facts.http.method == "POST" && facts.http.path == "/deploy" && !("dry_run" in facts.http.query)
      effect: approve
      approvers: [{ groups: [sre] }]
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const deploy = (input: Record<string, unknown>) =>
  gw.as('deploy-bot', '/v1/actions', { body: { connection: 'deployer', input: { method: 'POST', path: '/deploy', ...input }, reason: 'try the release' } });

it('a parameter with no values is refused before policy, and nothing reaches the upstream', async () => {
  for (const query of [{ dry_run: [] }, { dry_run: [], region: 'eu' }]) {
    const before = upstream.calls.length;
    const res = await deploy({ query });
    expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([422, 'INPUT_UNPARSEABLE']);
    expect(res.body.error.message).toContain('dry_run');
    expect(upstream.calls.length).toBe(before);
  }
  // Refused before anything is recorded: the agent has no request at all.
  expect((await gw.as('deploy-bot', '/v1/requests')).body.requests).toEqual([]);
});

it('a flag sent as the upstream gets it still runs as a dry run; without it, the deploy is held', async () => {
  for (const input of [{ path: '/deploy?dry_run' }, { query: { dry_run: '' } }, { query: { dry_run: ['1'] } }]) {
    const res = await deploy(input);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(upstream.calls.at(-1)!.url).toMatch(/^\/deploy\?dry_run(=1?)?$/);
  }
  const before = upstream.calls.length;
  const real = await deploy({});
  expect(real.status).toBe(202);
  expect((await storedAudit(gw.deps.store, real.body.id)).map((e) => e.type)).toContain('request.held');
  expect(upstream.calls.length).toBe(before);
});
