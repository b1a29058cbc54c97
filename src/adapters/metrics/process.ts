/**
 * The process's own metrics (CPU, memory, event loop lag, GC, handles:
 * prom-client's default metrics), collected once per process into a registry
 * of their own: collecting starts observers that never stop, so each gateway
 * a process starts (tests start many) shares the one set.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | undefined;

/**
 * @example
 * Registry.merge([gatewayRegistry, processRegistry()]).metrics();
 */
export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
