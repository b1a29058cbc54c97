/**
 * An HTTP action's body is read for method-override fields as form, JSON and
 * multipart before policy sees it. That reading must take time in proportion
 * to the body, whatever it holds: a body of many `Content-Disposition:`
 * headers with no part name after them once held the whole gateway (every
 * other agent and reviewer) for minutes per submission.
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
  - { name: api, kind: http, url: "${upstream.url}" }
policy:
  default: allow
`,
    { server: 'bodyLimitBytes: 2097152' },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const send = (body: unknown) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path: '/upload', headers: { 'Content-Type': 'text/plain' }, body }, reason: 'scan' } });

describe('a 2 MiB body of Content-Disposition headers without a name', () => {
  it('is judged and sent long before the test gives up, and the gateway still answers', { timeout: 60_000 }, async () => {
    const body = 'Content-Disposition:'.repeat(100_000);
    const before = upstream.calls.length;
    const res = await send(body);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(upstream.calls.length).toBe(before + 1);
    expect(upstream.calls.at(-1)!.body).toBe(body);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('a part named _method after them is still found: 422 INPUT_UNPARSEABLE, nothing sent', { timeout: 60_000 }, async () => {
    const before = upstream.calls.length;
    const res = await send(`${'Content-Disposition:'.repeat(1000)}\r\n--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--b--\r\n`);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INPUT_UNPARSEABLE');
    expect(upstream.calls.length).toBe(before);
  });
});
