/**
 * `GET /metrics`: channel delivery health in the Prometheus text exposition
 * format (version 0.0.4), so a channel that is down pages someone. Only
 * counts and ages, no request content and no secrets; unauthenticated, as
 * scrapers expect (bind the gateway or filter the path if that matters).
 */
import { Hono } from 'hono';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * @example
 * app.route('/metrics', metricsRoutes(deps, ['slack', 'teams']));
 */
export function metricsRoutes(deps: Pick<Deps, 'store' | 'clock'>, channels: readonly string[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => {
    const health = await deps.store.outboxHealth();
    const now = deps.clock.now().getTime();
    const lines = [
      '# HELP countersign_channel_up 1 when the channel delivers, 0 while a delivery has failed and is still owed.',
      '# TYPE countersign_channel_up gauge',
      '# HELP countersign_outbox_pending Deliveries to the channel not yet made.',
      '# TYPE countersign_outbox_pending gauge',
      '# HELP countersign_outbox_dead Deliveries set aside after an error retrying cannot fix.',
      '# TYPE countersign_outbox_dead gauge',
      '# HELP countersign_outbox_oldest_pending_seconds Age of the oldest delivery not yet made (0 when none).',
      '# TYPE countersign_outbox_oldest_pending_seconds gauge',
    ];
    for (const name of channels) {
      const h = health.find((x) => x.channel === name);
      const l = `{channel="${label(name)}"}`;
      lines.push(`countersign_channel_up${l} ${h?.failing ? 0 : 1}`);
      lines.push(`countersign_outbox_pending${l} ${h?.pending ?? 0}`);
      lines.push(`countersign_outbox_dead${l} ${h?.dead ?? 0}`);
      lines.push(`countersign_outbox_oldest_pending_seconds${l} ${h?.oldest ? Math.max(0, (now - Date.parse(h.oldest)) / 1000) : 0}`);
    }
    return c.text(`${lines.join('\n')}\n`, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
  return app;
}
