/**
 * Agent header values are shown to reviewers as `[redacted]` (they may be the
 * agent's own credentials), except those that say what the call does. Some
 * APIs choose the operation by a header, not the path: SOAP 1.1 by
 * `SOAPAction`, AWS's JSON APIs (DynamoDB, KMS, SSM, Secrets Manager, behind
 * a signing proxy) by `X-Amz-Target`, at the same `POST /` for every one;
 * WebDAV's `Depth` says how much of a tree a call reaches and `Content-Range`
 * which bytes a PUT overwrites. A reviewer who sees `[redacted]` there approves
 * an operation they cannot read; they must see these as sent.
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
policy:
  default: deny
  rules:
    - id: writes-need-review
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
  );
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const OPERATION_HEADERS = {
  SOAPAction: '"urn:accounts#DeleteAccount"',
  'X-Amz-Target': 'DynamoDB_20120810.DeleteTable',
  Depth: 'infinity',
  'Content-Range': 'bytes 0-3/100',
};

describe('a held call whose operation a header chooses', () => {
  it('the reviewer sees those headers as sent; a header that may be a credential stays [redacted]', async () => {
    const submitted = await gw.as('deploy-bot', '/v1/actions', {
      body: { connection: 'api', input: { method: 'POST', path: '/', headers: { ...OPERATION_HEADERS, 'X-Agent-Token': 'agent-own-secret-1' }, body: { TableName: 'orders' } }, reason: 'look up orders' },
    });
    expect(submitted.body.status).toBe('pending');
    const seen = await gw.as('alice', `/v1/requests/${submitted.body.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.action.input.headers).toEqual({ ...OPERATION_HEADERS, 'X-Agent-Token': '[redacted]' });
    expect(upstream.calls).toEqual([]);
  });

  it('in any spelling a server reads as the same header', async () => {
    const submitted = await gw.as('deploy-bot', '/v1/actions', {
      body: { connection: 'api', input: { method: 'POST', path: '/', headers: { soapaction: 'urn:x#Drop', X_AMZ_TARGET: 'KMS.ScheduleKeyDeletion' } }, reason: 'x' },
    });
    const seen = await gw.as('alice', `/v1/requests/${submitted.body.id}`);
    expect(seen.body.action.input.headers).toEqual({ soapaction: 'urn:x#Drop', X_AMZ_TARGET: 'KMS.ScheduleKeyDeletion' });
  });
});
