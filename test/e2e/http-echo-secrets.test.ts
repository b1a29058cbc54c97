/**
 * A connection's credentials never come back to the agent, whatever an
 * echoing upstream does with them: escaped, percent-encoded, HTML-encoded,
 * base64 (any alignment, wrapped), hex, gzip-compressed at the agent's
 * request, cut one character into the secret, answered as a byte range,
 * placed across the 1 MiB cut, or put in response headers. A body the
 * gateway cannot check (binary, an unknown encoding or charset) is withheld,
 * saying why. The secret is looked for in the agent's response, in the
 * request rows and in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { readDb } from '../support/sqlite.ts';
import { startEchoUpstream, type Upstream } from '../support/upstream.ts';

const TOKEN = 'tok_live/9fQx+Lm2=Zr7Vb1Kc';
const API_KEY = 'key-4Hd8s9Q2wE6rT1yU';
const PASSWORD = 'pw!Zq8-vN3xL';
const BASIC = `Basic ${Buffer.from(`svc:${PASSWORD}`).toString('base64')}`;

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  gw = await startTestGateway(
    `connections:
  - name: echo
    kind: http
    url: ${upstream.url}
    headers: { Authorization: "Bearer \${TOKEN}", X-Api-Key: "\${API_KEY}" }
  - name: basic
    kind: http
    url: ${upstream.url}
    headers: { Authorization: "\${BASIC}" }
  - name: ranged
    kind: http
    url: ${upstream.url}
    headers: { Authorization: "Bearer \${TOKEN}" }
    allow: { headers: [Range] }
policy:
  default: allow
`,
    { env: { TOKEN, API_KEY, BASIC } },
  );
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** Forms of `s` an echo could produce, each long enough to give the secret (or most of it) away. */
function forms(s: string): string[] {
  const b = Buffer.from(s);
  const aligned = (k: number, url: boolean) => {
    const e = Buffer.concat([Buffer.alloc(k), b]).toString(url ? 'base64url' : 'base64');
    return e.slice(Math.ceil((4 * k) / 3), Math.floor((4 * (k + b.length)) / 3));
  };
  const out = [s, JSON.stringify(s).slice(1, -1), s.replaceAll('/', '\\/'), encodeURIComponent(s), b.toString('hex'), b.toString('hex').toUpperCase()];
  for (const k of [0, 1, 2]) out.push(aligned(k, false), aligned(k, true));
  // Most of it: any 12 characters in a row.
  for (let i = 0; i + 12 <= s.length; i++) out.push(s.slice(i, i + 12));
  return [...new Set(out)];
}
const SECRETS = [TOKEN, API_KEY, PASSWORD, `svc:${PASSWORD}`, BASIC.slice(6)];

function leaks(text: string): string[] {
  return SECRETS.flatMap((s) => forms(s).filter((f) => text.includes(f)).map((f) => `${s.slice(0, 6)}… as ${f}`));
}

function stored(): string {
  return readDb(gw.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()]));
}

async function get(connection: string, path: string, headers: Record<string, string> = {}) {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { method: 'GET', path, headers: { 'Accept-Encoding': 'gzip', ...headers } }, reason: 'echo' } });
  expect(res.status).toBe(200);
  const text = JSON.stringify(res.body);
  expect(leaks(text), text.slice(0, 400)).toEqual([]);
  return res.body.result as { status: number; contentType: string; body: unknown; truncated?: boolean; bodyWithheld?: string };
}

describe('an upstream that echoes the request headers', () => {
  it.each(['raw', 'json', 'unicode', 'percent', 'html', 'base64', 'base64url', 'base64-offset', 'base64-wrapped', 'hex', 'HEX'])('in %s, gzip-compressed as the agent asked: nothing of a secret comes back', async (form) => {
    for (const connection of ['echo', 'basic']) {
      const r = await get(connection, `/echo/${form}`);
      expect(r.status).toBe(200);
      expect(String(r.body)).toContain('[redacted]');
    }
    // The agent's Accept-Encoding was not passed on: the gateway asked for what it can check.
    expect(upstream.calls.at(-1)!.headers['accept-encoding']).toBe('identity');
  });

  it('gzip sent whatever was asked is decoded and scrubbed', async () => {
    const r = await get('echo', '/gzip-always');
    expect(JSON.stringify(r.body)).toContain('[redacted]');
  });

  it('a body cut one character (or more) into a secret gives none of it away', async () => {
    // Where the token sits in the echo of exactly this call (the headers are the same every time).
    const plain = { 'Accept-Encoding': 'identity' };
    await get('echo', '/cut?at=0', plain);
    const start = JSON.stringify(upstream.calls.at(-1)!.headers).indexOf(TOKEN);
    expect(start).toBeGreaterThan(0);
    for (let at = start + 1; at <= start + TOKEN.length; at += 2) await get('echo', `/cut?at=${at}`, plain);
  });

  it('the 1 MiB cut landing inside a secret gives none of it away', async () => {
    for (const at of [40, 45, 50, 60]) {
      const r = await get('echo', `/tail?at=${at}`);
      expect(r.truncated).toBe(true);
    }
  });

  it('byte ranges are not passed on, and where a connection allows them, a piece of a secret is still not given away', async () => {
    await get('echo', '/range', { Range: 'bytes=30-60' });
    expect(upstream.calls.at(-1)!.headers.range).toBeUndefined();
    for (let from = 20; from < 60; from += 7) await get('ranged', '/range', { Range: `bytes=${from}-${from + 13}` });
    expect(upstream.calls.at(-1)!.headers.range).toBeDefined();
  });

  it('response headers that echo a secret: the content type is scrubbed (each time it comes back), other headers are not passed on', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get('echo', '/in-header');
      expect(r.contentType).toContain('[redacted]');
    }
  });
});

describe('a body the gateway cannot check is withheld, saying why', () => {
  it.each([
    ['/binary', 'application/octet-stream'],
    ['/zstd', 'Content-Encoding'],
    ['/utf16', 'charset'],
    ['/utf16-undeclared', 'NUL'],
  ])('%s', async (path, why) => {
    const r = await get('echo', path);
    expect(r.body).toBeNull();
    expect(r.bodyWithheld).toContain(why);
  });

  it.each(['type', 'charset', 'encoding'])('saying so without the secret an upstream put in its %s', async (via) => {
    const r = await get('echo', `/withheld-echo?via=${via}`);
    expect(r.body).toBeNull();
    expect(r.bodyWithheld).toBeTruthy();
    // Content types and charsets are read in lower case.
    expect(r.bodyWithheld!.toLowerCase()).not.toContain(API_KEY.toLowerCase().slice(4, 16));
  });

  it('a compression bomb is inflated only up to the bound', async () => {
    const r = await get('echo', '/bomb');
    expect(r.truncated).toBe(true);
    expect(String(r.body).length).toBeLessThanOrEqual(1_048_576);
  });
});

describe('what is kept', () => {
  it('no secret in any form in the request rows or the audit log', () => {
    expect(upstream.calls.length).toBeGreaterThan(30);
    expect(leaks(stored())).toEqual([]);
  });
});
