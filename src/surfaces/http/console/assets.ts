/**
 * The console's only static files: one stylesheet and two scripts (the second for passkeys), read once
 * at start from assets/ beside this module (the CLI bundle, dist/bundle/, has its copy beside it) and served by the gateway itself,
 * as the Content-Security-Policy requires (no inline code, no other origin).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';

const FILES = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'passkeys.js': 'text/javascript; charset=utf-8',
} as const;

export function assetRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    app.get(`/assets/${name}`, (c) => {
      c.header('x-content-type-options', 'nosniff');
      c.header('cache-control', 'no-cache');
      c.header('etag', etag);
      if (c.req.header('if-none-match') === etag) return c.body(null, 304);
      c.header('content-type', type);
      return c.body(body);
    });
  }
  return app;
}
