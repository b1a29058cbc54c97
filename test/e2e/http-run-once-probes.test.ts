/**
 * One approval, one call upstream: an upstream that reads the whole request
 * and then drops the connection without answering (on a fresh connection,
 * and on a kept-alive one the gateway reuses) sees the request once, for
 * every method, idempotent or not; the action fails and is not sent again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

/** Request lines received, in order. */
const seen: string[] = [];
let server: Server;
let gw: TestGateway;
const sockets = new Set<Socket>();

beforeAll(async () => {
  // Answers /ok with 200 and keeps the connection; anything else: read, then drop without a word.
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        const line = head.slice(0, head.indexOf('\r\n'));
        seen.push(line);
        if (line.includes(' /ok ')) socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nkeep-alive: timeout=60\r\n\r\n{}');
        else socket.destroy();
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  gw = await startTestGateway(`connections:
  - name: flaky
    kind: http
    url: http://127.0.0.1:${port}
policy:
  default: allow
`);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('an upstream that drops the connection after reading the request', () => {
  it.each(['GET', 'PUT', 'DELETE', 'POST', 'PATCH'])('%s is received once; the action fails', async (method) => {
    // A kept-alive connection first, which the next call may reuse.
    expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'flaky', input: { method: 'GET', path: '/ok' }, reason: 'warm' } })).body.status).toBe('succeeded');
    const path = `/drop-${method.toLowerCase()}`;
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'flaky', input: { method, path, ...(method === 'GET' || method === 'DELETE' ? {} : { body: { n: 1 } }) }, reason: 'probe' } });
    expect(res.body.status).toBe('failed');
    expect(res.body.error.message).toBe('flaky could not be reached');
    expect(seen.filter((l) => l === `${method} ${path} HTTP/1.1`)).toHaveLength(1);
  });
});
