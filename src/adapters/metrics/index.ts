/**
 * The metrics a config calls for: prom-client's when `metrics.enabled` (the
 * default), with a scrape that covers every worker of `server.workers`;
 * else the no-op adapter and nothing to scrape.
 */
import cluster from 'node:cluster';
import type { Metrics } from '../../core/ports.ts';
import { workerExposition } from './cluster.ts';
import { noopMetrics } from './noop.ts';
import { createPromMetrics, type Exposition, type PromOptions } from './prom.ts';

export { aggregateWorkerMetrics } from './cluster.ts';
export { noopMetrics } from './noop.ts';
export { createPromMetrics, type Exposition, type PromMetrics } from './prom.ts';

export interface ConfiguredMetrics {
  readonly metrics: Metrics;
  /** What `GET /metrics` answers; absent when metrics are off (the route is then not there). */
  readonly expose?: () => Promise<Exposition>;
}

/**
 * @example
 * const { metrics, expose } = createMetrics({ enabled: true }, { store, clock, channels: ['slack'], log });
 */
export function createMetrics(config: { readonly enabled: boolean }, o: PromOptions): ConfiguredMetrics {
  if (!config.enabled) return { metrics: noopMetrics };
  const prom = createPromMetrics(o);
  return { metrics: prom, expose: cluster.isWorker ? workerExposition(prom.registries) : () => prom.expose() };
}
