/**
 * Waits one principal may hold open at once (`server.maxWaitsPerPrincipal`):
 * each long-poll or event stream keeps a socket, a timer and a subscription,
 * so an agent opening them without bound would take the gateway from every
 * other agent and reviewer. Past the cap: 429 TOO_MANY_WAITS, counted in
 * metrics; a slot frees when its wait ends, by the client or by the request
 * becoming final; other principals keep theirs.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, valueOf } from '../support/exposition.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { filesystemConnection, httpAgent, textOf } from '../support/mcp.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  upstream = await startUpstream();
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'cs-wait-cap-')));
  gw = await startTestGateway(
    `connections:
  - { name: api, kind: http, url: "${upstream.url}" }
${filesystemConnection('files', dir, '    waitSeconds: 30')}
policy:
  default: deny
  rules:
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: files
      when: action.connection == "files"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
    { server: 'maxWaitsPerPrincipal: 2' },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function hold(as: string, path: string): Promise<string> {
  const res = await gw.as(as, '/v1/actions', { body: { connection: 'api', input: { method: 'POST', path }, reason: 'wait cap' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** Opens the request's event stream; the answer's status once its headers are in. */
async function stream(as: string, id: string): Promise<{ status: number; body: any; abort(): void; ended: Promise<void> }> {
  const ctl = new AbortController();
  const res = await fetch(`${gw.url}/v1/requests/${id}/events`, { headers: { authorization: `Bearer ${gw.keys[as]}` }, signal: ctl.signal });
  const body = res.status === 200 ? undefined : await res.json();
  // Read to the end (the server ends the stream when the request is final); an abort ends it too.
  const ended = (async () => {
    try {
      for await (const _chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        // drained
      }
    } catch {
      // aborted
    }
  })();
  return { status: res.status, body, abort: () => ctl.abort(), ended };
}

const refusedCount = async () => valueOf(parseExposition(await (await fetch(`${gw.url}/metrics`)).text()), 'countersign_waits_refused_total', { surface: 'rest' });

describe('server.maxWaitsPerPrincipal', () => {
  it('past the cap a long-poll or a stream is refused with 429 TOO_MANY_WAITS; a read without wait, or another principal, is not', { timeout: 60_000 }, async () => {
    const id = await hold('deploy-bot', '/cap/one');
    const s1 = await stream('deploy-bot', id);
    const s2 = await stream('deploy-bot', id);
    expect([s1.status, s2.status]).toEqual([200, 200]);

    const poll = await gw.as('deploy-bot', `/v1/requests/${id}?wait=30`);
    expect(poll.status).toBe(429);
    expect(poll.body.error.code).toBe('TOO_MANY_WAITS');
    expect(poll.body.error.message).toMatch(/maxWaitsPerPrincipal/);
    const s3 = await stream('deploy-bot', id);
    expect(s3.status).toBe(429);
    expect(s3.body.error.code).toBe('TOO_MANY_WAITS');
    expect(await refusedCount()).toBeGreaterThanOrEqual(2);

    expect((await gw.as('deploy-bot', `/v1/requests/${id}?wait=0`)).status).toBe(200);
    const other = await stream('other-bot', await hold('other-bot', '/cap/other'));
    expect(other.status).toBe(200);
    other.abort();

    // A client that goes away frees its slot: a long-poll gets through once the gateway has seen the close.
    s1.abort();
    const polled = await eventually(async () => {
      const r = await gw.as('deploy-bot', `/v1/requests/${id}?wait=1`);
      return r.status === 200 ? r : undefined;
    }, 30_000);
    expect(polled.body.status).toBe('pending');
    s2.abort();
  });

  it('streams of a request that becomes final end and free their slots', { timeout: 60_000 }, async () => {
    const id = await hold('deploy-bot', '/cap/two');
    const streams = await eventually(async () => {
      const s = await stream('deploy-bot', id);
      if (s.status === 200) return s;
      return undefined;
    }, 30_000);
    const second = await eventually(async () => {
      const s = await stream('deploy-bot', id);
      return s.status === 200 ? s : undefined;
    }, 30_000);
    expect((await stream('deploy-bot', id)).status).toBe(429);

    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny' } })).status).toBe(200);
    await Promise.all([streams.ended, second.ended]);

    const next = await hold('deploy-bot', '/cap/three');
    const a = await eventually(async () => {
      const s = await stream('deploy-bot', next);
      return s.status === 200 ? s : undefined;
    }, 30_000);
    const b = await stream('deploy-bot', next);
    expect(b.status).toBe(200);
    a.abort();
    b.abort();
  });

  it('over MCP: a call held past the cap answers at once with its request id, and countersign_wait is refused with TOO_MANY_WAITS', { timeout: 90_000 }, async () => {
    const id = await hold('deploy-bot', '/cap/mcp');
    const a = await eventually(async () => {
      const s = await stream('deploy-bot', id);
      return s.status === 200 ? s : undefined;
    }, 30_000);
    const b = await stream('deploy-bot', id);
    expect(b.status).toBe(200);
    const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
    try {
      // The call's wait is 30 s: answered before it, held, with the id to wait on later.
      const held = (await agent.callTool({ name: 'files__write_file', arguments: { path: join(dir, 'x.txt'), content: 'x' } })) as { _meta?: Record<string, unknown>; content?: unknown };
      expect(held._meta?.['countersign/status']).toBe('pending');
      const heldId = held._meta?.['countersign/requestId'] as string;
      expect(textOf(held)).toContain(heldId);
      const e = await agent.callTool({ name: 'countersign_wait', arguments: { requestId: heldId } }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(McpError);
      expect(e).toMatchObject({ data: { code: 'TOO_MANY_WAITS' } });
      expect(valueOf(parseExposition(await (await fetch(`${gw.url}/metrics`)).text()), 'countersign_waits_refused_total', { surface: 'mcp' })).toBeGreaterThanOrEqual(2);
    } finally {
      await agent.close();
      a.abort();
      b.abort();
    }
  });
});
