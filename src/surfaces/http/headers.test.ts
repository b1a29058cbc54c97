import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHeader } from './headers.ts';

const NAMES = ['authorization', 'user-agent', 'idempotency-key', 'content-length', 'x-absent'];
let server: ReturnType<typeof serve>;
let port: number;

beforeAll(async () => {
  const app = new Hono();
  // Each header read both ways: from the raw list, and as the web Headers object reads it.
  app.all('*', (c) => c.json(NAMES.map((n) => [requestHeader(c, n) ?? null, c.req.header(n) ?? null])));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends the header lines exactly as written (fetch would merge or refuse some of them) and reads the JSON answer. */
function send(lines: string[]): Promise<[string | null, string | null][]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('end', () => resolve(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as [string | null, string | null][]));
    socket.on('error', reject);
  });
}

describe('a request header read from the raw list', () => {
  it('reads as Headers.get reads it: any case, duplicates joined, absent as undefined', async () => {
    const read = await send([
      'AUTHORIZATION: Bearer one',
      'authorization:   Bearer two  ',
      'User-Agent: agent/1',
      'user-agent: agent/2',
      'Idempotency-Key: inv-7',
      'Content-Length: 0',
    ]);
    for (const [raw, web] of read) expect(raw).toBe(web);
    // Both Authorization values are there: a second credential is never silently dropped.
    expect(read[0]).toEqual(['Bearer one, Bearer two', 'Bearer one, Bearer two']);
    expect(read[2]).toEqual(['inv-7', 'inv-7']);
    expect(read[4]).toEqual([null, null]);
  });
});
