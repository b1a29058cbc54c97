/**
 * A request is decided once, whoever races whom: the agent withdrawing it
 * while a human approves it, or while another breaks the glass on it. Each
 * request ends either cancelled (and the upstream never called) or approved
 * and run exactly once — never both, never twice — and the audit log tells
 * the same story as the row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const PRINCIPALS: TestPrincipal[] = [
  { id: 'deploy-bot', kind: 'agent' },
  { id: 'alice', kind: 'human', groups: ['sre'] },
  { id: 'oncall', kind: 'human', groups: ['oncall'] },
];

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(
    `connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}
policy:
  default: deny
  rules:
    - id: one-sre
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
      breakGlass: { groups: [oncall] }
      ttl: 1h
`,
    { principals: PRINCIPALS },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function hold(path: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: {} }, reason: 'race' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** The request ended one way only, and ran as often as that way says. */
async function expectOneOutcome(id: string, path: string): Promise<void> {
  const status = await eventually(async () => {
    const s = await storedStatus(gw.deps.store, id);
    return s === 'cancelled' || s === 'succeeded' ? s : undefined;
  }, 10_000);
  const types = (await storedAudit(gw.deps.store, id)).map((e) => e.type);
  const ran = upstream.calls.filter((c) => c.url === path).length;
  if (status === 'cancelled') {
    expect(ran).toBe(0);
    expect(types.filter((t) => t === 'request.executing' || t === 'request.approved' || t === 'request.break_glass')).toEqual([]);
  } else {
    expect(ran).toBe(1);
    expect(types.filter((t) => t === 'request.cancelled')).toEqual([]);
    expect(types.filter((t) => t === 'request.executing')).toHaveLength(1);
  }
}

describe('the agent withdraws a request as it is decided', () => {
  it('approve against cancel: cancelled and never run, or approved and run once', async () => {
    for (let i = 0; i < 8; i++) {
      const path = `/approve-vs-cancel/${i}`;
      const id = await hold(path);
      const [approve, cancel] = await Promise.all([
        gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } }),
        gw.as('deploy-bot', `/v1/requests/${id}/cancel`, { body: {} }),
      ]);
      // Exactly one of the two took the request.
      expect([approve.status, cancel.status].filter((s) => s === 200)).toHaveLength(1);
      await expectOneOutcome(id, path);
    }
  });

  it('break-glass against cancel: cancelled and never run, or broken and run once', async () => {
    for (let i = 0; i < 8; i++) {
      const path = `/glass-vs-cancel/${i}`;
      const id = await hold(path);
      const [glass, cancel] = await Promise.all([
        gw.as('oncall', `/v1/requests/${id}/break-glass`, { body: { justification: 'outage INC-1' } }),
        gw.as('deploy-bot', `/v1/requests/${id}/cancel`, { body: {} }),
      ]);
      expect([glass.status, cancel.status].filter((s) => s === 200)).toHaveLength(1);
      await expectOneOutcome(id, path);
    }
  });
});
