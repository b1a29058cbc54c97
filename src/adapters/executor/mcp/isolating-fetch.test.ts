import { createServer } from 'node:http';
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatingFetch } from './isolating-fetch.ts';

let url = '';
const server = createServer((req, res) => {
  if (req.url === '/slow') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    return; // never ends
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
});
