/**
 * Headers that a service mesh's sidecar in front of the upstream reads as
 * instructions about the call: Envoy (Istio) honours `x-envoy-*` from
 * clients it counts as internal, which by default is any private address the
 * gateway calls from, and Linkerd honours `l5d-*` from anyone. With them an
 * agent would have an approved POST retried on failure (run more than once),
 * or routed to another host or service (the injected credential with it).
 * Refused at submit unless the connection allows the name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(
    `connections:
  - name: api
    kind: http
    url: ${upstream.url}
    headers: { Authorization: "Bearer \${API_TOKEN}" }
  - name: meshed
    kind: http
    url: ${upstream.url}
    allow: { headers: [x-envoy-upstream-rq-timeout-ms] }
policy:
  default: deny
  rules:
    - id: public
      when: facts.http.path.startsWith("/public/")
      effect: allow
`,
    { env: { API_TOKEN: 'mesh-cred-Qz8Lm2Xv4' } },
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

async function received(connection: string, headers: Record<string, string>) {
  const before = upstream.calls.length;
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { method: 'POST', path: '/public/orders', headers, body: { qty: 1 } }, reason: 'probe' } });
  return { res, calls: upstream.calls.slice(before) };
}

describe('a header a mesh sidecar acts on', () => {
  it.each([
    // Retried by Envoy: the approved write runs again (and again) when the upstream fails or is slow.
    ['x-envoy-retry-on', '5xx,reset'],
    ['X-Envoy-Max-Retries', '10'],
    ['x-envoy-retry-grpc-on', 'unavailable'],
    ['x-envoy-retriable-status-codes', '409'],
    ['x-envoy-hedge-on-per-try-timeout', 'true'],
    ['x-envoy-upstream-rq-per-try-timeout-ms', '1'],
    // Routed elsewhere: an ORIGINAL_DST cluster with use_http_header, Linkerd's override of the destination.
    ['x-envoy-original-dst-host', '203.0.113.7:80'],
    ['l5d-dst-override', 'evil.attacker.svc.cluster.local:80'],
    ['L5d_Dst_Override', 'evil.attacker.svc.cluster.local:80'],
  ])('%s → 422 INPUT_UNPARSEABLE, nothing sent', async (name, value) => {
    const { res, calls } = await received('api', { [name]: value });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(calls).toEqual([]);
  });

  it('one the connection allows by name is sent; the others still are not', async () => {
    const ok = await received('meshed', { 'X-Envoy-Upstream-Rq-Timeout-Ms': '5000' });
    expect(ok.res.body.status).toBe('succeeded');
    expect(ok.calls[0]!.headers['x-envoy-upstream-rq-timeout-ms']).toBe('5000');
    const refused = await received('meshed', { 'x-envoy-retry-on': '5xx' });
    expect(refused.res.status).toBe(422);
    expect(refused.calls).toEqual([]);
  });

  it('x-envoy-external-address is dropped as before (a client address), the call runs', async () => {
    const { res, calls } = await received('api', { 'x-envoy-external-address': '10.0.0.1' });
    expect(res.body.status).toBe('succeeded');
    expect(calls[0]!.headers['x-envoy-external-address']).toBeUndefined();
  });
});
