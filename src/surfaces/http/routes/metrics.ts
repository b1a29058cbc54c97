/**
 * `GET /metrics`: the gateway's metrics in the Prometheus text exposition
 * format (version 0.0.4), as the Metrics adapter writes them. Only counts,
 * durations and ages, labelled by bounded sets (connections and channels
 * from the config, statuses, refusal reasons); no request content, ids or
 * secrets. Unauthenticated, as scrapers expect (bind the gateway or filter
 * the path if that matters); not mounted at all when metrics are off.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';

/** One scrape: the exposition and its content type. */
export type Expose = () => Promise<{ readonly contentType: string; readonly body: string }>;

/**
 * @example
 * app.route('/metrics', metricsRoutes(() => metrics.expose()));
 */
export function metricsRoutes(expose: Expose): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => {
    const { contentType, body } = await expose();
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
  return app;
}
