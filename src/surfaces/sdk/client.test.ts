import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from './client.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe('the client and redirects', () => {
  for (const status of [301, 302, 307, 308]) {
    it(`does not follow a ${status}: the key and the action stay with the gateway it was given`, async () => {
      const seen: IncomingHttpHeaders[] = [];
      const elsewhere = await serve((req, res) => {
        seen.push(req.headers);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"req_x","status":"succeeded"}');
      });
      const gateway = await serve((_req, res) => res.writeHead(status, { location: `${elsewhere}/v1/actions` }).end());
      const cs = createClient({ url: gateway, key: 'cs_secret_key' });

      await expect(cs.submit({ connection: 'db', input: { sql: 'select 1' }, reason: 'r' })).rejects.toThrow();
      await expect(cs.whoami()).rejects.toThrow();
      // Had either call followed the redirect, the other server would have answered it before the call returned.
      expect(seen).toEqual([]);
    });
  }
});

describe('the client and what it is given', () => {
  it('refuses a URL holding a user or password at once, without quoting it: fetch would put it in every call’s error, which an adapter hands the model', async () => {
    const made = () => createClient({ url: 'http://agent:hunter2@127.0.0.1:9', key: 'cs_secret_key' });
    expect(made).toThrow(/user or password/);
    expect(() => made()).not.toThrow(/hunter2/);
  });

  it('refuses a key an HTTP header cannot carry at once, without quoting it: fetch’s own error holds the whole header', async () => {
    for (const key of ['cs_secret_key\nX-Injected: 1', 'cs_secret_kéy€', 'cs_secret key', '']) {
      let message = '';
      try {
        createClient({ url: 'http://127.0.0.1:9', key });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, JSON.stringify(key)).toMatch(/API key/);
      expect(message).not.toContain('cs_secret');
    }
  });

  it('sends a key with the whitespace a file or an environment variable leaves around it trimmed', async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"a","kind":"agent","actsFor":null,"groups":[]}');
    });
    await createClient({ url, key: ' cs_secret_key\n' }).whoami();
    expect(seen).toEqual(['Bearer cs_secret_key']);
  });
});

describe('the client and request ids', () => {
  it('keeps a request id one path segment: a dot segment (an id read from an edited run state, or an impostor) is refused, not resolved to another route', async () => {
    const paths: string[] = [];
    const url = await serve((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"NOT_FOUND","message":"no"}}');
    });
    const cs = createClient({ url, key: 'cs_secret_key' });
    for (const id of ['.', '..', '']) {
      await expect(cs.get(id), JSON.stringify(id)).rejects.toThrow(TypeError);
      await expect(cs.cancel(id)).rejects.toThrow(TypeError);
      await expect(cs.review(id, { verdict: 'approve' })).rejects.toThrow(TypeError);
      await expect(cs.wait(id, { seconds: 1 })).rejects.toThrow(TypeError);
    }
    expect(paths).toEqual([]);
    await expect(cs.get('../x?y#z')).rejects.toThrow(/no/);
    await expect(cs.wait('req_1', { seconds: 1, from: 'pending&wait=600' as never })).rejects.toThrow(/no/);
    expect(paths).toEqual(['GET /v1/requests/..%2Fx%3Fy%23z', 'GET /v1/requests/req_1?wait=1&from=pending%26wait%3D600']);
  });
});
