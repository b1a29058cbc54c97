/**
 * A request's event stream (GET /v1/requests/:id/events) lasts as long as the
 * request does, hours if nobody reviews it: the bearer it was opened with is
 * checked again before each event, as a wire session's is before each
 * statement. A workload token that expired meanwhile gets nothing more (not
 * the approval, not the result): the stream ends. A long-poll
 * (`?wait=`, up to server.maxWaitSeconds) answers what it waited for only
 * while its bearer is still accepted, else 401; so does MCP's wait tool
 * (up to the connection's waitSeconds, an hour at most), with a JSON-RPC error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/clock.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startTestIssuer, type TestIssuer } from '../support/issuer.ts';
import { opsApiConfig } from '../support/policies.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { readEvents } from '../support/sse.ts';



describe('a request event stream opened with a token that expires', () => {
  let gw: TestGateway;
  let idp: TestIssuer;
  let upstream: Upstream;
  const clock = manualClock();

  beforeAll(async () => {
    upstream = await startUpstream((call) => ({ status: 200, body: { secret: 'result-for-the-agent', url: call.url } }));
    idp = await startTestIssuer('/idp');
    gw = await startTestGateway(
      `identity:
  issuers:
    - issuer: ${idp.issuer}
      audience: countersign
      principal: { kind: agent, id: sub }
${opsApiConfig(upstream.url)}`,
      // One wait at a time: a second one refused (429) shows the first is open.
      { clock, server: 'maxWaitsPerPrincipal: 1' },
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await idp?.close();
    await upstream?.close();
  });

  const tokenFor = async (seconds: number) => {
    const now = Math.floor(clock.now().getTime() / 1000);
    return idp.sign({ sub: 'deploy-bot', aud: 'countersign', iat: now, exp: now + seconds }, { expiresIn: null });
  };
  const hold = async (token: string, path: string) => {
    const submit = await fetch(`${gw.url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connection: 'ops-api', input: { method: 'POST', path }, reason: 'held' }),
    });
    expect(submit.status).toBe(202);
    return ((await submit.json()) as { id: string }).id;
  };

  it('a long-poll whose token expired while it waited answers 401, not the change it waited for', async () => {
    const token = await tokenFor(120);
    const id = await hold(token, '/poll/expiring');
    let answered = false;
    const open = () => {
      answered = false;
      const poll = fetch(`${gw.url}/v1/requests/${id}?wait=60&from=pending`, { headers: { authorization: `Bearer ${token}` } });
      poll.then(
        () => (answered = true),
        () => (answered = true),
      );
      return poll;
    };
    let waiting = open();
    // Approved once the wait holds the principal's one wait: a second is then refused. A second that reached the
    // gateway first took that one slot and the wait was refused (answered already): the wait is opened again.
    const second = async () => (await fetch(`${gw.url}/v1/requests/${id}?wait=1`, { headers: { authorization: `Bearer ${token}` } })).status;
    await eventually(async () => {
      if (answered) waiting = open();
      return (await second()) === 429 ? true : undefined;
    }, 20_000);
    clock.advance((120 + 60 + 1) * 1000);
    expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
    const res = await waiting;
    const body = (await res.json()) as { status?: string; error?: { code: string } };
    expect([res.status, body.error?.code, body.status]).toEqual([401, 'UNAUTHENTICATED', undefined]);
    // Settled before the next test, which approves another request of the same agent.
    await eventually(async () => ((await gw.as('alice', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined), 15_000);
  });

  it('MCP’s wait tool whose token expired while it waited answers UNAUTHENTICATED, not the outcome', async () => {
    const token = await tokenFor(120);
    const id = await hold(token, '/mcp/expiring');
    const res = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      // With a progress token: the answer is a stream whose first progress says the wait has begun.
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'countersign_wait', arguments: { requestId: id }, _meta: { progressToken: 'p' } } }),
    });
    let text = '';
    let approved = false;
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (!approved && text.includes('notifications/progress')) {
        approved = true;
        clock.advance((120 + 60 + 1) * 1000);
        expect((await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } })).status).toBe(200);
      }
    }
    expect(approved).toBe(true);
    expect(text).not.toContain('result-for-the-agent');
    const answer = text.split('\n').filter((l) => l.startsWith('data: ') && l.includes('"id":1')).map((l) => JSON.parse(l.slice(6)));
    expect(answer).toMatchObject([{ id: 1, error: { data: { code: 'UNAUTHENTICATED' } } }]);
    await eventually(async () => ((await gw.as('alice', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined), 15_000);
  });

  it('ends at the next change once the token is past exp and the clock skew: neither the approval nor the result is sent', async () => {
    const token = await tokenFor(120);
    const id = await hold(token, '/sse/expiring');
    const res = await fetch(`${gw.url}/v1/requests/${id}/events`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    const before = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').length;
    let approved = false;
    const events = await readEvents(res, (e) => {
      if (!approved && e.event === 'request' && e.data.status === 'pending') {
        approved = true;
        clock.advance((120 + 60 + 1) * 1000);
        void gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve' } });
      }
    });
    expect(events.filter((e) => e.event === 'request').map((e) => e.data.status)).toEqual(['pending']);
    expect(JSON.stringify(events)).not.toContain('result-for-the-agent');
    // The request itself went on: alice approved it and it ran (what the stream no longer said).
    await eventually(async () => ((await gw.as('alice', `/v1/requests/${id}`)).body.status === 'succeeded' ? true : undefined), 15_000);
    const failed = (await storedAudit(gw.deps.store)).filter((e) => e.type === 'auth.failed').slice(before);
    expect(failed.map((e) => e.data)).toContainEqual(expect.objectContaining({ reason: 'token.expired' }));
  });
});
