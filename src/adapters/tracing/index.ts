/**
 * Tracing, as the composition root builds it: with `tracing.enabled`, the
 * OpenTelemetry SDK (otel.ts, imported only then, so a gateway without
 * tracing never loads it); without, a scope that only carries the request id
 * of the work in progress to log lines.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { TracingConfig } from '../../config/tracing-schema.ts';
import type { Log } from '../../core/ports.ts';
import type { IncomingCall, Tracer } from '../../core/tracing.ts';

/** The Tracer port and what only adapters and the composition root use. */
export interface Tracing extends Tracer {
  readonly enabled: boolean;
  /** The request id of the work in progress, for its log lines. */
  currentRequest(): string | undefined;
  /**
   * W3C trace context headers of the active span, for an outgoing HTTP call: made by the propagator from the
   * gateway's own span, never copied from what a caller sent. Empty when not tracing.
   */
  outgoing(): Record<string, string>;
  /** `fn`, to run in the context active now wherever it is called from (a store runs a batch's callbacks in one caller's). */
  bind<F extends (...args: never[]) => unknown>(fn: F): F;
  /** Exports the spans still buffered, then stops. */
  close(): Promise<void>;
}

const NO_CALL: IncomingCall = { recording: false, rename() {}, set() {}, failed() {} };

/**
 * Tracing off: no spans, no trace context read or sent. With `carry`, the request id of the work in progress reaches
 * its log lines. Carrying it costs on every promise: an AsyncLocalStorage in use has Node track each promise's
 * context (about a tenth of an allowed action's CPU, measured with `bench:pgwire`), so it is carried only when lines
 * that need it are written (debug); warnings and errors about a request name it themselves.
 */
function scopeOnly(carry: boolean): Tracing {
  const scopes = carry ? new AsyncLocalStorage<{ requestId?: string }>() : undefined;
  return {
    enabled: false,
    serve: (_name, _attributes, _carrier, fn) => (scopes ? scopes.run({}, () => fn(NO_CALL)) : fn(NO_CALL)),
    span: (_name, _attributes, fn) => fn(),
    annotate() {},
    request(id) {
      const scope = scopes?.getStore();
      if (scope) scope.requestId = id;
    },
    traceparent: () => undefined,
    currentRequest: () => scopes?.getStore()?.requestId,
    outgoing: () => ({}),
    bind: (fn) => fn,
    close: async () => {},
  };
}

/**
 * @example
 * const tracing = await createTracing(config.tracing, log);
 * await tracing.close(); // at shutdown: flushes what is buffered
 */
export async function createTracing(config: TracingConfig, log: Log & { isLevelEnabled?: (level: string) => boolean }): Promise<Tracing> {
  if (!config.enabled) return scopeOnly(log.isLevelEnabled?.('debug') ?? true);
  const { createOtelTracing } = await import('./otel.ts');
  return createOtelTracing(config, log);
}

/**
 * `log` with the request id of the work in progress on every line that does not name one. A line below the
 * logger's level (pino's `isLevelEnabled`, when it has one) is dropped here, before the id is looked up and copied in.
 */
export function logWithRequest(log: Log & { isLevelEnabled?: (level: string) => boolean }, current: () => string | undefined): Log {
  const add = (obj: Record<string, unknown>) => {
    const requestId = current();
    return requestId === undefined || 'requestId' in obj ? obj : { requestId, ...obj };
  };
  const on = (level: string) => log.isLevelEnabled?.(level) ?? true;
  return {
    debug: (obj, msg) => on('debug') && log.debug(add(obj), msg),
    info: (obj, msg) => on('info') && log.info(add(obj), msg),
    warn: (obj, msg) => on('warn') && log.warn(add(obj), msg),
    error: (obj, msg) => log.error(add(obj), msg),
  };
}
