/**
 * An answer over the 1 MiB bound is cut where no secret of the connection
 * can begin. That cut looks at the end of the text for the beginning of a
 * secret written as byte values; it must take time in proportion to the
 * text, whatever the text holds: an answer made of long runs of hex digits
 * (a hex dump, a file an agent stored and reads back) once held the whole
 * gateway for many minutes, every other agent and reviewer with it.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

// 2 MiB of lines of 65,535 hex digits each.
const LINE = `${'a'.repeat(65_535)}\n`;
const BODY = LINE.repeat(32);

let server: Server;
let url: string;
let gw: TestGateway;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  gw = await startTestGateway(
    `connections:
  - name: files
    kind: http
    url: ${url}
    headers: { Authorization: "Bearer \${FILES_TOKEN}" }
policy:
  default: allow
`,
    { env: { FILES_TOKEN: 'files-token-5d41402abc4b2a76b9719d911017c592' } },
  );
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
});

describe('an answer of 2 MiB of hex-digit lines', () => {
  it('comes back cut at the bound, long before the test gives up, and the gateway still answers', { timeout: 120_000 }, async () => {
    const read = gw.as('deploy-bot', '/v1/actions', { body: { connection: 'files', input: { method: 'GET', path: '/dump' }, reason: 'read the dump' } });
    const res = await read;
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.truncated).toBe(true);
    const text = res.body.result.body as string;
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text.length).toBeLessThanOrEqual(1_048_576);
    expect(BODY.startsWith(text)).toBe(true);
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
