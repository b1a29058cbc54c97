/**
 * A run that is still going when another replica settles its request as
 * interrupted (that replica's clock is ahead of the grace, or the run outlived
 * its bound): the settled status stands and nothing runs again, but what the
 * run did is not lost — the audit log records its late outcome beside the
 * interruption, so a reader of the log learns that it did run, and how it ended.
 */
import { createServer, type ServerResponse } from 'node:http';
import { afterAll, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/core/audit.ts';
import type { Store } from '../../src/core/ports.ts';
import { manualClock } from '../support/clock.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { READS_ALLOWED_WRITES_HELD } from '../support/policies.ts';

const body = (url: string) => `connections:
  - name: pay-api
    kind: http
    url: ${url}
${READS_ALLOWED_WRITES_HELD}`;

const shareds: SharedGateway[] = [];
const gateways: TestGateway[] = [];

afterAll(async () => {
  for (const g of gateways.reverse()) await g.stop();
  for (const s of shareds) await s.remove();
});

async function eventsOf(store: Store, id: string): Promise<AuditEvent[]> {
  return (await store.readAudit(1, 10_000)).filter((e) => e.requestId === id);
}

it('a run settled as interrupted by a replica whose clock is ahead keeps that status, runs once, and its late outcome is in the audit log', async () => {
  const parked: ServerResponse[] = [];
  const seen: string[] = [];
  const slow = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    parked.push(res);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const addr = slow.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  try {
    const s = prepareSharedGateway();
    shareds.push(s);
    const a = await s.start(body(url));
    gateways.push(a);
    const held = await a.as('deploy-bot', '/v1/actions', { body: { connection: 'pay-api', input: { method: 'POST', path: '/refunds/late', body: { amount: 1 } }, reason: 'e2e' } });
    expect(held.status).toBe(202);
    const id = held.body.id as string;
    expect((await a.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    await eventually(async () => (parked.length === 1 ? true : undefined));

    // A replica ten minutes ahead: past the run's deadline by its clock, it settles the request at start.
    const b = await s.start(body(url), { clock: manualClock(Date.now() + 10 * 60_000) });
    gateways.push(b);
    const settled = await b.deps.store.getRequest(id);
    expect(settled).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_INTERRUPTED' } });
    // The gateway running it did not stop: the settled record says the outcome is unknown, never that it did not run.
    expect(settled?.error?.message).toMatch(/outcome is unknown/);
    expect(settled?.error?.message).toMatch(/may have had an effect/);

    // The run on A ends after all.
    parked[0]!.writeHead(200, { 'content-type': 'application/json' }).end('{"refunded":true}');
    const late = await eventually(async () => (await eventsOf(a.deps.store, id)).find((e) => e.type === 'request.outcome-late'), 20_000);
    expect(late.data).toMatchObject({ ok: true, settledAs: { status: 'failed', code: 'EXECUTION_INTERRUPTED' }, summary: { status: 200 } });

    // The settled status stands on both replicas, and it ran once.
    for (const g of [a, b]) expect((await g.as('deploy-bot', `/v1/requests/${id}`)).body).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_INTERRUPTED' } });
    expect((await eventsOf(a.deps.store, id)).map((e) => e.type)).toEqual(['request.submitted', 'request.held', 'review.recorded', 'request.approved', 'request.executing', 'request.failed', 'request.outcome-late']);
    expect(seen).toEqual(['POST /refunds/late']);
  } finally {
    slow.closeAllConnections();
    await new Promise((r) => slow.close(r));
  }
});
