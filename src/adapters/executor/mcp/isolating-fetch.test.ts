import { createServer } from 'node:http';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIsolatingFetch, isolatingFetch, MAX_ANSWER_BYTES, MAX_EVENT_BYTES } from './isolating-fetch.ts';

let url = '';
let standingGets = 0;
const server = createServer((req, res) => {
  if (req.url === '/events') {
    // Many small events, CRLF and LF alike, well past the bound in total, then one event past it alone.
    standingGets++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const small = `data: ${'y'.repeat(1000)}\r\n\r\ndata: ${'z'.repeat(1000)}\n\n`;
    res.write(small.repeat(Math.ceil((2 * MAX_EVENT_BYTES) / small.length)));
    res.end(`data: ${'x'.repeat(MAX_EVENT_BYTES + 10)}\n\n`);
    return;
  }
  if (req.url === '/slow') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    return; // never ends
  }
  if (req.url === '/huge-json' || req.url === '/huge-stream') {
    // Past the bound, and then some: the rest is never read.
    const stream = req.url === '/huge-stream';
    res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
    res.write(stream ? 'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"text":"' : '{"text":"');
    res.end('x'.repeat(MAX_ANSWER_BYTES + 1024));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('isolatingFetch', () => {
  it('leaves no listener on the shared signal once each body is read', async () => {
    const shared = new AbortController();
    for (let i = 0; i < 50; i++) expect(await (await isolatingFetch(`${url}/x`, { signal: shared.signal })).json()).toEqual({ ok: true });
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('still aborts a stream in flight when the shared signal aborts', async () => {
    const shared = new AbortController();
    const res = await isolatingFetch(`${url}/slow`, { signal: shared.signal });
    const reading = res.text();
    shared.abort();
    await expect(reading).rejects.toThrow();
  });

  it('fails a JSON answer to a POST past the bound', async () => {
    const res = await isolatingFetch(`${url}/huge-json`, { method: 'POST', body: '{"jsonrpc":"2.0","id":7,"method":"tools/call"}' });
    await expect(res.json()).rejects.toThrow(/larger than/);
  });

  it('ends a stream answering a POST past the bound with a JSON-RPC error for its request', async () => {
    const res = await isolatingFetch(`${url}/huge-stream`, { method: 'POST', body: '{"jsonrpc":"2.0","id":7,"method":"tools/call"}' });
    const text = await res.text();
    expect(text.length).toBeLessThan(MAX_ANSWER_BYTES + 70_000);
    expect(text.endsWith(`data: {"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"the MCP server's answer was larger than ${MAX_ANSWER_BYTES} bytes, which the gateway does not read"}}\n\n`)).toBe(true);
  });

  it('reads a standing stream of small events past the bound in total, cuts it at an event past the bound, and then answers its GETs itself', async () => {
    const fetchOne = createIsolatingFetch();
    const res = await fetchOne(`${url}/events`, { method: 'GET' });
    const reader = res.body!.getReader();
    let got = 0;
    const failed = await (async () => {
      for (;;) {
        try {
          const { done, value } = await reader.read();
          if (done) return null;
          got += value.byteLength;
        } catch (e) {
          return e as Error;
        }
      }
    })();
    expect(failed?.message).toMatch(new RegExp(`larger than ${MAX_EVENT_BYTES} bytes`));
    expect(got).toBeGreaterThan(2 * MAX_EVENT_BYTES);
    const before = standingGets;
    const again = await fetchOne(`${url}/events`, { method: 'GET' });
    expect(again.status).toBe(405);
    expect(standingGets).toBe(before);
    // Another upstream's fetch is not refused: the state is its own.
    const other = await createIsolatingFetch()(`${url}/x`, { method: 'GET' });
    expect(await other.json()).toEqual({ ok: true });
  });
});
