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
