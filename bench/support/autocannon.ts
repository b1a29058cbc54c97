/**
 * A typed wrapper around autocannon 8 (which ships no typings). Besides
 * autocannon's own result it keeps every response time as a float: its HDR
 * histogram records whole milliseconds, too coarse for a 2 ms budget.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  /** Seconds. */
  readonly duration: number;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly title?: string;
}

interface Histogram {
  readonly average: number;
  readonly mean: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly total: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** The fields of autocannon's result this bench reads. */
export interface AutocannonResult {
  readonly requests: Histogram;
  readonly latency: Histogram;
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly statusCodeStats: Record<string, { count: number }>;
}

export interface LoadResult {
  readonly raw: AutocannonResult;
  /** Completed 2xx responses per second over the measured duration. */
  readonly okPerSecond: number;
  /** Mean of autocannon's per-second request samples. */
  readonly requestsPerSecond: number;
  /** Precise latency percentiles of all responses, in ms. */
  readonly p50: number;
  readonly p99: number;
  readonly responses: number;
  readonly failures: number;
}

type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => EventEmitter;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * @example
 * const r = await runLoad({ url: 'http://127.0.0.1:9000/x', connections: 50, duration: 10 });
 * r.requestsPerSecond; r.p50;
 */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  let times = new Float64Array(1 << 16);
  let n = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        duration: opts.duration,
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.title !== undefined ? { title: opts.title } : {}),
        timeout: 10,
      },
      (err, raw) => {
        if (err) return reject(err);
        const sorted = times.subarray(0, n).sort();
        resolve({
          raw,
          okPerSecond: raw['2xx'] / raw.duration,
          requestsPerSecond: raw.requests.average,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          responses: n,
          failures: raw.non2xx + raw.errors,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      if (n === times.length) {
        const bigger = new Float64Array(times.length * 2);
        bigger.set(times);
        times = bigger;
      }
      times[n++] = responseTime;
    });
  });
}
