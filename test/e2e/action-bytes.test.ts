/**
 * The bytes already on disk: an action's digest and its `request.submitted`
 * event body, pinned to the exact text the gateway writes today. Audit logs
 * are verified offline and approvals are bound to digests, so a faster way of
 * writing either must give the same bytes; only the request id, the event's
 * place in the chain (seq, prev) and nothing else may vary between runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/digest.ts';
import { manualClock } from '../support/clock.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
  gw = await startTestGateway(
    `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
    tags: { env: prod, compliance: [soc2, gdpr] }
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
    - id: prod-writes
      when: connection.tags.env == "prod" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`,
    { clock: manualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678)) },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** The stored request.submitted event of `id`, and `pinned` with its request id and place in the chain filled in. */
async function submittedOf(id: string, pinned: string): Promise<{ body: string; hash: string; expected: string }> {
  const events = await storedAudit(gw.deps.store);
  const e = events.find((x) => x.requestId === id && x.type === 'request.submitted');
  if (!e) throw new Error(`no request.submitted event for ${id}`);
  return { body: e.body, hash: e.hash, expected: pinned.replace('$ID', id).replace('$SEQ', String(e.seq)).replace('$PREV', e.prev) };
}

describe('bytes already on disk', () => {
  it('an allowed read: its digest and request.submitted body are the ones written before', async () => {
    const input = { path: '/invoices?limit=5', method: 'GET', headers: { accept: 'application/json' }, query: { status: ['open', 'late'] } };
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input, reason: 'list invoices, ticket #48213 — “urgent”' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    const digest = 'sha256:0f68cb78b404bbf1b2b94abbad88077f2f24a60b5d32d6c06ca9818f2d165171';
    expect(res.body.digest).toBe(digest);
    const { body, hash, expected } = await submittedOf(
      res.body.id,
      '{"actor":"deploy-bot","data":{"connection":{"kind":"http","name":"billing-api","tags":{"compliance":["soc2","gdpr"],"env":"prod"}},"context":{"remoteAddress":"127.0.0.1","surface":"rest","userAgent":"node"},"decision":{"approvers":[],"effect":"allow","message":null,"policyHash":"sha256:d4df42de7f2986a87d836c19ffcec727cafc360d9b663ee895b7e4153fcb0451","rules":["reads"]},"digest":"sha256:0f68cb78b404bbf1b2b94abbad88077f2f24a60b5d32d6c06ca9818f2d165171","facts":{"http":{"method":"GET","path":"/invoices","query":{"limit":["5"],"status":["open","late"]}},"kind":"http","writes":false},"input":{"headers":{"accept":"application/json"},"method":"GET","path":"/invoices?limit=5","query":{"status":["open","late"]}},"operation":"http.request","principal":{"actsFor":"carol","groups":[],"id":"deploy-bot","kind":"agent"},"reason":"list invoices, ticket #48213 — “urgent”"},"prev":"$PREV","requestId":"$ID","seq":$SEQ,"time":"2026-01-02T03:04:05.678Z","type":"request.submitted"}',
    );
    expect(body).toBe(expected);
    expect(hash).toBe(sha256Hex(body));
  });

  it('a held write: its digest and request.submitted body are the ones written before', async () => {
    const input = { method: 'POST', path: '/refunds', body: { amount: 4200, currency: 'EUR', lines: [{ sku: 'b-2', qty: 1 }, { qty: 2, sku: 'a-1' }], note: null, rate: 0.1 } };
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'billing-api', input, reason: 'refund' } });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending');
    const digest = 'sha256:daf417c093c082a0c0ace46abecc35cce0df776c413b4d6693754f743e0095af';
    expect(res.body.digest).toBe(digest);
    const { body, hash, expected } = await submittedOf(
      res.body.id,
      '{"actor":"deploy-bot","data":{"connection":{"kind":"http","name":"billing-api","tags":{"compliance":["soc2","gdpr"],"env":"prod"}},"context":{"remoteAddress":"127.0.0.1","surface":"rest","userAgent":"node"},"decision":{"approvers":[{"count":1,"groups":["sre"],"principals":[],"rule":"prod-writes"}],"effect":"approve","message":null,"policyHash":"sha256:d4df42de7f2986a87d836c19ffcec727cafc360d9b663ee895b7e4153fcb0451","rules":["prod-writes"]},"digest":"sha256:daf417c093c082a0c0ace46abecc35cce0df776c413b4d6693754f743e0095af","facts":{"http":{"method":"POST","path":"/refunds","query":{}},"kind":"http","writes":true},"input":{"body":{"amount":4200,"currency":"EUR","lines":[{"qty":1,"sku":"b-2"},{"qty":2,"sku":"a-1"}],"note":null,"rate":0.1},"method":"POST","path":"/refunds"},"operation":"http.request","principal":{"actsFor":"carol","groups":[],"id":"deploy-bot","kind":"agent"},"reason":"refund"},"prev":"$PREV","requestId":"$ID","seq":$SEQ,"time":"2026-01-02T03:04:05.678Z","type":"request.submitted"}',
    );
    expect(body).toBe(expected);
    expect(hash).toBe(sha256Hex(body));
  });
});
