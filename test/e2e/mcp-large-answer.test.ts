/**
 * An MCP upstream over HTTP whose answer is far larger than the gateway
 * keeps. The gateway keeps at most 1 MiB of a tool's result, but read the
 * whole answer first: an agent allowed a read tool whose output it steers (a
 * file, a query, a fetched page) made the gateway hold hundreds of megabytes
 * per call, several copies of it at once, and a few such calls in parallel
 * took every agent's gateway down. An answer is read up to a bound, as the
 * SDK bounds a stdio server's messages (10 MiB): past it the call fails and
 * the rest is never read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startMutableUpstream, type MutableUpstream } from '../support/mcp-upstream.ts';

let upstream: MutableUpstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startMutableUpstream();
  gw = await startTestGateway(
    `connections:
  - name: tools
    kind: mcp
    url: ${upstream.url}
policy:
  default: allow
`,
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

const greet = (name: string) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'tools', input: { tool: 'greet', arguments: { name } }, reason: 'e2e' } });

describe('a tool answer over the bound', () => {
  it('fails the call, saying the answer was too large; the gateway still answers the next call', { timeout: 120_000 }, async () => {
    const res = await greet(`big:${32 * 1024 * 1024}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('EXECUTION_FAILED');
    expect(res.body.error.message).toMatch(/larger than/);
    const next = await greet('alice');
    expect(next.body.status).toBe('succeeded');
    expect(next.body.result.content[0].text).toBe('hello, alice');
  });

  it('a large answer within the bound is kept as before: cut at 1 MiB and marked so', { timeout: 120_000 }, async () => {
    const res = await greet(`big:${2 * 1024 * 1024}`);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.content[0].text).toMatch(/the gateway keeps at most 1048576, so it was cut\]$/);
  });
});
