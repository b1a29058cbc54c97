/**
 * `GET /metrics`: the gateway's metrics in the Prometheus text exposition
 * format (version 0.0.4), as the Metrics adapter writes them. Only counts,
 * durations and ages, labelled by bounded sets (connections and channels
 * from the config, statuses, refusal reasons); no request content, ids or
 * secrets. Unauthenticated, as scrapers expect, unless the config sets a
 * token: then a scrape without it as its bearer gets 401 and no metrics. Not
 * mounted at all when metrics are off.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';

const UNAUTHENTICATED = 'UNAUTHENTICATED';

/** One scrape: the exposition and its content type. */
export type Expose = () => Promise<{ readonly contentType: string; readonly body: string }>;

/**
 * @example
 * app.route('/metrics', metricsRoutes(() => metrics.expose()));
 */
export function metricsRoutes(expose: Expose, token?: string): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Compared as digests of equal length, in constant time: the answer says nothing of how much of a guess was right.
  const digest = (v: string) => createHash('sha256').update(v).digest();
  const want = token === undefined ? undefined : digest(`Bearer ${token}`);
  app.get('/', async (c) => {
    if (want && !timingSafeEqual(digest(c.req.header('authorization') ?? ''), want)) {
      return c.json({ error: { code: UNAUTHENTICATED, message: 'metrics need the bearer token the configuration sets (metrics.token)', traceId: c.get('traceId') } }, 401, {
        'www-authenticate': 'Bearer realm="countersign metrics"',
      });
    }
    const { contentType, body } = await expose();
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  return app;
}
