/** A real HTTP server on 127.0.0.1 that records every call, standing in for a target API. */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** Listens on a free loopback port; the port. */
async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

export interface RecordedCall {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Upstream {
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

export async function startUpstream(
  respond: (call: RecordedCall) => { status?: number; body?: unknown } = () => ({ status: 200, body: { ok: true } }),
): Promise<Upstream> {
  const calls: RecordedCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      calls.push(call);
      const { status = 200, body = { ok: true } } = respond(call);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  const port = await listenLocal(server);
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/**
 * An upstream that echoes the request's headers back, the way a debug
 * endpoint would, in the encoding its path names: `/echo/<form>` (raw, json
 * with `\/`, unicode escapes, percent, html, base64, base64url, base64 at an
 * offset, MIME-wrapped base64, hex, HEX), gzip-compressed when the request
 * accepts gzip. Other paths: `/cut?at=N` (the raw echo cut after N
 * characters), `/range` (honours Range), `/tail` (the echo placed so a 1 MiB
 * cut lands inside it), `/in-header` (the echo in response headers and the
 * content type), `/binary`, `/zstd`, `/utf16`, `/utf16-undeclared`, `/bomb` (a gzip stream that
 * inflates to 64 MiB) and `/gzip-always` (gzip whatever was asked).
 */
export async function startEchoUpstream(): Promise<Upstream> {
  const { gzipSync } = await import('node:zlib');
  const enc = (s: string, form: string): string => {
    const b = Buffer.from(s);
    switch (form) {
      case 'json': return JSON.stringify(s).replaceAll('/', '\\/');
      case 'unicode': return [...s].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      case 'percent': return [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('');
      case 'html': return [...s].map((c) => `&#${c.charCodeAt(0)};`).join('');
      case 'base64': return b.toString('base64');
      case 'base64url': return b.toString('base64url');
      case 'base64-offset': return Buffer.from(`#${s}`).toString('base64');
      case 'base64-wrapped': return b.toString('base64').replace(/(.{76})/g, '$1\r\n');
      case 'hex': return b.toString('hex');
      case 'HEX': return b.toString('hex').toUpperCase();
      default: return s;
    }
  };
  const calls: RecordedCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const url = new URL(req.url ?? '/', 'http://x');
      const echo = JSON.stringify(req.headers);
      const gzipOk = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const send = (status: number, headers: Record<string, string>, body: Buffer | string, gzip = gzipOk) => {
        const bytes = Buffer.from(body);
        res.writeHead(status, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
        res.end(gzip ? gzipSync(bytes) : bytes);
      };
      const form = /^\/echo\/(.+)$/.exec(url.pathname)?.[1];
      if (form) return send(200, { 'content-type': 'text/plain; charset=utf-8' }, `headers: ${enc(echo, form)}\n`);
      switch (url.pathname) {
        case '/cut':
          return send(200, { 'content-type': 'text/plain' }, echo.slice(0, Number(url.searchParams.get('at'))));
        case '/range': {
          const m = /bytes=(\d+)-(\d+)/.exec(String(req.headers.range ?? ''));
          return m ? send(206, { 'content-type': 'text/plain' }, echo.slice(Number(m[1]), Number(m[2]) + 1)) : send(200, { 'content-type': 'text/plain' }, echo);
        }
        case '/tail': {
          const at = Number(url.searchParams.get('at') ?? 0);
          return send(200, { 'content-type': 'text/plain' }, `${'.'.repeat(1_048_576 - at)}${echo}`);
        }
        case '/in-header':
          res.writeHead(200, { 'content-type': `application/json; echo=${Buffer.from(echo).toString('base64')}`, 'x-echo-authorization': String(req.headers.authorization ?? '') });
          return res.end('{}');
        case '/withheld-echo': {
          // The credential in the headers that say why a body cannot be checked: its type, its charset, its encoding.
          const key = String(req.headers['x-api-key'] ?? '');
          const via = url.searchParams.get('via');
          res.writeHead(200, via === 'type' ? { 'content-type': `application/x.${key}` } : via === 'charset' ? { 'content-type': `text/plain; charset=${key}` } : { 'content-type': 'text/plain', 'content-encoding': key });
          return res.end('x');
        }
        case '/binary':
          return send(200, { 'content-type': 'application/octet-stream' }, Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(echo)]));
        case '/zstd':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'zstd' });
          return res.end(echo);
        case '/utf16-undeclared':
          return send(200, { 'content-type': 'text/plain' }, Buffer.from(echo, 'utf16le'));
        case '/utf16':
          return send(200, { 'content-type': 'text/plain; charset=utf-16le' }, Buffer.from(echo, 'utf16le'));
        case '/bomb':
          return send(200, { 'content-type': 'text/plain' }, Buffer.alloc(64 << 20, 0x41), true);
        case '/gzip-always':
          return send(200, { 'content-type': 'application/json' }, echo, true);
        default:
          return send(200, { 'content-type': 'application/json' }, echo);
      }
    });
  });
  const port = await listenLocal(server);
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface HeldUpstream extends Upstream {
  /** Resolves once `n` calls have arrived in all (each one is held until release). */
  arrived(n: number): Promise<void>;
  /** Answers every call held so far, and every later one at once. */
  release(): void;
}

/**
 * An upstream that holds every call unanswered until the test releases it: a
 * slow target, for what happens while an action is still running.
 */
export async function startHeldUpstream(body: unknown = { ok: true }): Promise<HeldUpstream> {
  const calls: RecordedCall[] = [];
  const held: (() => void)[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let released = false;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (released) answer();
      else held.push(answer);
      for (const w of waiters.filter((x) => calls.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  const port = await listenLocal(server);
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    arrived: (n) => (calls.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    release() {
      released = true;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
