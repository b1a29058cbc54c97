import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpConnection } from './connection.ts';

const servers: Server[] = [];
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('http connection', () => {
  it('bounds the whole call, not only the gaps: an upstream that trickles forever times out', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const t = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(t));
    });
    const conn = createHttpConnection({ name: 'slow', url, headers: {}, tags: {}, timeoutMs: 400 });
    const started = Date.now();
    const r = await conn.execute({ method: 'GET', path: '/x' }, { readOnly: true });
    expect(r.ok).toBe(false);
    expect(r.error?.message).toBe('slow timed out');
    expect(Date.now() - started).toBeLessThan(conn.maxRunMs + 2000);
    await (conn as unknown as { close(): Promise<void> }).close();
  });

  it('bounds the wait for the answer too: an upstream that never answers times out', async () => {
    let received = 0;
    const url = await serve(() => {
      received++;
    });
    const conn = createHttpConnection({ name: 'silent', url, headers: {}, tags: {}, timeoutMs: 400 });
    const r = await conn.execute({ method: 'GET', path: '/x' }, { readOnly: true });
    expect(r.ok).toBe(false);
    expect(r.error?.message).toBe('silent timed out');
    expect(received).toBe(1);
    await (conn as unknown as { close(): Promise<void> }).close();
  });

  it('never hands the gateway’s credential back, even from an upstream that echoes headers', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ youSent: req.headers, token: String(req.headers.authorization).split(' ')[1] }));
    });
    const conn = createHttpConnection({ name: 'echo', url, headers: { Authorization: 'Bearer s3cr3t-token-value' }, tags: {}, timeoutMs: 2000 });
    const r = await conn.execute({ method: 'GET', path: '/headers' }, { readOnly: true });
    expect(r.ok).toBe(true);
    expect(JSON.stringify(r.output)).not.toContain('s3cr3t-token-value');
    expect(r.output).toMatchObject({ body: { youSent: { authorization: '[redacted]' }, token: '[redacted]' } });
    await (conn as unknown as { close(): Promise<void> }).close();
  });

  it('sends exactly the canonical path the policy saw, under the base path', async () => {
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(req.url ?? '');
      res.end('{}');
    });
    const conn = createHttpConnection({ name: 'api', url: `${url}/api`, headers: {}, tags: {}, timeoutMs: 2000 });
    await conn.execute({ method: 'GET', path: '/%61dmin/users?x=1' }, { readOnly: true });
    expect(seen).toEqual(['/api/admin/users?x=1']);
    await (conn as unknown as { close(): Promise<void> }).close();
  });

  it('passes a clean content type as it came, and cuts a long one where it falls, a secret across the cut replaced first', async () => {
    const secret = 's3cr3t-token-value';
    const types = ['application/json; charset=utf-8', `text/plain; x=${'a'.repeat(181)}${secret}; more`];
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': types[Number(req.url?.slice(1))] });
      res.end('ok');
    });
    const conn = createHttpConnection({ name: 'types', url, headers: { Authorization: `Bearer ${secret}` }, tags: {}, timeoutMs: 2000 });
    const short = await conn.execute({ method: 'GET', path: '/0' }, { readOnly: true });
    expect(short.output).toMatchObject({ contentType: 'application/json; charset=utf-8', body: 'ok' });
    // The cut at 200 characters falls inside the secret: it was seen whole, and replaced, before the cut.
    const long = await conn.execute({ method: 'GET', path: '/1' }, { readOnly: true });
    const contentType = (long.output as { contentType: string }).contentType;
    expect(contentType).toBe(`text/plain; x=${'a'.repeat(181)}[reda`);
    expect(contentType).not.toContain('s3cr');
    await (conn as unknown as { close(): Promise<void> }).close();
  });
});
