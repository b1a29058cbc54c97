/**
 * Sweeps run in one process among the gateways on a store: two gateways on
 * one SQLite file, the second with a clock two hours ahead. While the first
 * leads, the second's clock never expires anything; once the first stops, the
 * second takes the sweeps over.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { manualClock } from '../support/clock.ts';
import { prepareSharedGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { auditEvents, requestStatus } from '../support/sqlite.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const body = (url: string) => `connections:
  - name: ops-api
    kind: http
    url: ${url}
policy:
  default: deny
  rules:
    - id: short
      when: facts.http.method == "POST" && facts.http.path == "/short"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1s
    - id: long
      when: facts.http.method == "POST" && facts.http.path == "/long"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;

let upstream: Upstream;
let shared: SharedGateway;
let a: TestGateway;
let b: TestGateway;
const clockOfB = manualClock();

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: {} }));
  shared = prepareSharedGateway();
  a = await shared.start(body(upstream.url));
  b = await shared.start(body(upstream.url), { clock: clockOfB });
});

afterAll(async () => {
  await b?.stop();
  await upstream?.close();
  shared?.remove();
});

async function hold(path: '/short' | '/long'): Promise<string> {
  const res = await a.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path }, reason: 'sweep me' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

const expired = (id: string) => async () => (requestStatus(shared.dbPath, id) === 'expired' ? true : undefined);

it('sweeps in the process holding the lease only, and in another once the holder stops', async () => {
  // B's clock stands still: only A's sweep can expire this one, so A holds the sweep lease.
  const first = await hold('/short');
  await eventually(expired(first), 15_000);

  const long = await hold('/long');
  clockOfB.advance(2 * 3600_000); // by B's clock, `long` is overdue
  // A sweeps on (this second is many sweep ticks of B too); B, not leading, expires nothing.
  const second = await hold('/short');
  await eventually(expired(second), 15_000);
  expect(requestStatus(shared.dbPath, long)).toBe('pending');

  await a.stop(); // hands the lease over
  await eventually(expired(long), 15_000);
  for (const id of [first, second, long]) {
    expect(auditEvents(shared.dbPath, id).filter((e) => e.type === 'request.expired')).toHaveLength(1);
  }
}, 60_000);
