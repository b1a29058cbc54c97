/** The Metrics port when `metrics.enabled` is false: every call does nothing, and there is nothing to scrape. */
import type { Metrics } from '../../core/ports.ts';

const nothing = () => {};

/**
 * @example
 * const metrics = config.metrics.enabled ? createPromMetrics(o) : noopMetrics;
 */
export const noopMetrics: Metrics = Object.freeze({
  requestSettled: nothing,
  decided: nothing,
  upstream: nothing,
  policyError: nothing,
  auditAppend: nothing,
  authFailure: nothing,
  waitRefused: nothing,
});
