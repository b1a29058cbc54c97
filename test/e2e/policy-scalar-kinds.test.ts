/**
 * A rule comparing an agent's value with a bool or number literal (`force == true`, `amount == 0`) judges the value's
 * JSON kind; the upstream may not. FastAPI (pydantic's lax mode) reads `"true"`, `"yes"` and `1` as `True`, and
 * Jackson (Spring) `"true"` as true and `"0"` as 0. So a string or another kind where such a literal is compared is an
 * evaluation error, and an error denies: a deny rule is not walked around by writing its value in another kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const policy = (url: string) => `connections:
  - name: ops-api
    kind: http
    url: ${url}/ops
policy:
  default: allow
  rules:
    - id: no-forced-deploys
      when: facts.http.path == "/deploy" && action.input.body.force == true
      effect: deny
    - id: free-refunds-held
      when: facts.http.path == "/refund" && action.input.body.amount == 0
      effect: approve
    - id: no-deep-wipes
      when: facts.http.path == "/wipe" && action.input.body.level in [3, 4]
      effect: deny
`;

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(policy(upstream.url));
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const submit = (path: string, body: unknown) =>
  gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body }, reason: 'e2e' } });
const callsTo = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;

describe('a value of another kind than the literal a rule compares it with', () => {
  it('runs what no rule matches, as written (a bool false, a number above zero)', async () => {
    const before = callsTo('/deploy');
    const res = await submit('/deploy', { force: false });
    expect(res.status).toBe(200);
    expect(callsTo('/deploy')).toBe(before + 1);
    const refund = await submit('/refund', { amount: 5 });
    expect(refund.status).toBe(200);
  });

  it('denies `force: "true"`, `"yes"` and `1` against `force == true`, and nothing is sent', async () => {
    const before = callsTo('/deploy');
    for (const force of ['true', 'yes', 1]) {
      const res = await submit('/deploy', { force });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('POLICY_ERROR');
      expect(res.body.error.rules).toContain('no-forced-deploys');
    }
    expect(callsTo('/deploy')).toBe(before);
  });

  it('denies `amount: "0"` against an approve rule on `amount == 0` instead of running it', async () => {
    const before = callsTo('/refund');
    const res = await submit('/refund', { amount: '0' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('POLICY_ERROR');
    expect(callsTo('/refund')).toBe(before);
  });

  it('denies `level: "3"` against `level in [3, 4]`, and runs a level no literal names', async () => {
    const before = callsTo('/wipe');
    const res = await submit('/wipe', { level: '3' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('POLICY_ERROR');
    expect(res.body.error.rules).toContain('no-deep-wipes');
    expect(callsTo('/wipe')).toBe(before);
    const shallow = await submit('/wipe', { level: 1 });
    expect(shallow.status).toBe(200);
    expect(callsTo('/wipe')).toBe(before + 1);
  });

  it('still holds `force: true` by the rule itself, and runs `force: null` as CEL compares null', async () => {
    const denied = await submit('/deploy', { force: true });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('POLICY_DENIED');
    const before = callsTo('/deploy');
    const res = await submit('/deploy', { force: null });
    expect(res.status).toBe(200);
    expect(callsTo('/deploy')).toBe(before + 1);
  });
});
