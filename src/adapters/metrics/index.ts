/**
 * The metrics a config calls for: prom-client's when `metrics.enabled` (the
 * default), with a scrape that covers every worker of `server.workers`;
 * else the no-op adapter and nothing to scrape. prom-client (about 2 MB of
 * heap with the OpenTelemetry API it pulls in) loads only when metrics are on.
 */
import cluster from 'node:cluster';
import type { Metrics } from '../../core/ports.ts';
import { noopMetrics } from './noop.ts';
import type { Exposition, PromOptions } from './prom.ts';

export { noopMetrics } from './noop.ts';
export type { Exposition, PromMetrics } from './prom.ts';

export interface ConfiguredMetrics {
  readonly metrics: Metrics;
  /** What `GET /metrics` answers; absent when metrics are off (the route is then not there). */
  readonly expose?: () => Promise<Exposition>;
}

/**
 * @example
 * const { metrics, expose } = await createMetrics({ enabled: true }, { store, clock, channels: ['slack'], log });
 */
export async function createMetrics(config: { readonly enabled: boolean }, o: PromOptions): Promise<ConfiguredMetrics> {
  if (!config.enabled) return { metrics: noopMetrics };
  const prom = (await import('./prom.ts')).createPromMetrics(o);
  if (!cluster.isWorker) return { metrics: prom, expose: () => prom.expose() };
  const { workerExposition } = await import('./cluster.ts');
  return { metrics: prom, expose: workerExposition(prom.registries) };
}
