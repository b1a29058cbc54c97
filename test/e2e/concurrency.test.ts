/**
 * At most once under a race: twenty humans approve the same `count: 1`
 * request at the same moment — on one gateway, on two gateways sharing the
 * SQLite file, and on a gateway in another process — and the upstream sees
 * the action exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { prepareSharedGateway, type ChildGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { storedAudit, storedReviewers, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const HUMANS = Array.from({ length: 20 }, (_, i) => `human-${String(i + 1).padStart(2, '0')}`);
const PRINCIPALS: TestPrincipal[] = [{ id: 'deploy-bot', kind: 'agent' }, ...HUMANS.map((id) => ({ id, kind: 'human' as const, groups: ['sre'] }))];

const body = (url: string) => `connections:
  - name: ops-api
    kind: http
    url: ${url}
policy:
  default: deny
  rules:
    - id: one-sre
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;

type Caller = { as(id: string, path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: any }> };

let upstream: Upstream;
let shared: SharedGateway;
const running: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  upstream = await startUpstream((call) => ({ status: 200, body: { url: call.url } }));
  shared = prepareSharedGateway({ principals: PRINCIPALS });
});

afterAll(async () => {
  for (const g of running.reverse()) await g.stop();
  await upstream?.close();
  await shared?.remove();
});

async function start(): Promise<TestGateway> {
  const g = await shared.start(body(upstream.url));
  running.push(g);
  return g;
}

async function spawn(): Promise<ChildGateway> {
  const g = await shared.spawn(body(upstream.url));
  running.push(g);
  return g;
}

async function hold(g: Caller, path: string): Promise<string> {
  const res = await g.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: { n: 1 } }, reason: 'race' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** All twenty humans approve at once, human i through gateway i mod n. */
async function stampede(gateways: Caller[], id: string): Promise<{ status: number; body: any }[]> {
  return Promise.all(HUMANS.map((h, i) => gateways[i % gateways.length]!.as(h, `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })));
}

/** Exactly one approval won, the others were told the decision was already made, and it ran once. */
async function expectExactlyOnce(results: { status: number; body: any }[], id: string, path: string): Promise<void> {
  const ok = results.filter((r) => r.status === 200);
  const refused = results.filter((r) => r.status !== 200);
  expect(ok).toHaveLength(1);
  expect(refused).toHaveLength(19);
  for (const r of refused) {
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('REQUEST_ALREADY_DECIDED');
  }
  await eventually(async () => ((await shared.read((s) => storedStatus(s, id))) === 'succeeded' ? true : undefined), 10_000);
  expect(upstream.calls.filter((c) => c.url === path)).toHaveLength(1);
  expect(await shared.read((s) => storedReviewers(s, id))).toHaveLength(1);
  const types = (await shared.read((s) => storedAudit(s, id))).map((e) => e.type);
  expect(types.filter((t) => t === 'review.recorded')).toHaveLength(1);
  expect(types.filter((t) => t === 'request.approved')).toHaveLength(1);
  expect(types.filter((t) => t === 'request.executing')).toHaveLength(1);
  expect(types.filter((t) => t === 'request.succeeded')).toHaveLength(1);
}

describe('twenty simultaneous approvals of a count-1 request', () => {
  it('on one gateway: one execution, one 200, nineteen 409 REQUEST_ALREADY_DECIDED', async () => {
    const a = await start();
    const id = await hold(a, '/one-gateway');
    await expectExactlyOnce(await stampede([a], id), id, '/one-gateway');
  });

  it('split between two gateways on the same SQLite file: still exactly one execution', async () => {
    const a = await start();
    const b = await start();
    expect(b.dbPath).toBe(a.dbPath);
    const id = await hold(b, '/two-gateways');
    await expectExactlyOnce(await stampede([a, b], id), id, '/two-gateways');
  });

  it('split between this process and another process on the same file: still exactly one execution', async () => {
    const a = await start();
    const child = await spawn();
    const id = await hold(child, '/two-processes');
    await expectExactlyOnce(await stampede([a, child], id), id, '/two-processes');
    // Both processes agree on the outcome.
    const seen = await child.as('deploy-bot', `/v1/requests/${id}`);
    expect(seen.body.status).toBe('succeeded');
  });
});
