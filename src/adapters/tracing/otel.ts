/**
 * Tracing on: an OpenTelemetry tracer provider of this gateway's own (nothing
 * is registered globally, so several gateways can share a process), spans
 * batched to an OTLP/HTTP collector, ParentBased(TraceIdRatioBased) sampling,
 * the active span kept in AsyncLocalStorage, and W3C Trace Context in and out.
 * Loaded by index.ts only when `tracing.enabled`.
 *
 * Spans carry names, ids, codes and counts: never an error's message (it may
 * come from a driver and name a host or a credential), an input or a header.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, createContextKey, trace, type Context, type Link, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../../config/tracing-schema.ts';
import type { Log } from '../../core/ports.ts';
import { REQUEST_ID_ATTRIBUTE, type IncomingCall, type SpanAttributes, type TraceCarrier } from '../../core/tracing.ts';
import type { Tracing } from './index.ts';

/** One incoming call's work: the request it is about, and its spans still open (to name the request on them once known). */
interface Scope {
  requestId: string | undefined;
  readonly open: Set<Span>;
}

const SCOPE = createContextKey('countersign.scope');

const getter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined),
};
const setter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** A CountersignError's code, else INTERNAL: the one thing about an error a span keeps. */
function codeOf(e: unknown): string {
  const code = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : 'INTERNAL';
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * @example
 * const tracing = createOtelTracing({ enabled: true, otlp: { url, headers: {}, timeoutMs: 10000 }, sampleRatio: 1, serviceName: 'countersign' }, log);
 */
export function createOtelTracing(config: TracingConfig, log: Log): Tracing {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const propagator = new W3CTraceContextPropagator();
  const exporter = new OTLPTraceExporter({ url: config.otlp.url, headers: { ...config.otlp.headers }, timeoutMillis: config.otlp.timeoutMs });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('countersign');

  function start(name: string, kind: SpanKind, attributes: SpanAttributes, parent: Context, links?: Link[]): { ctx: Context; span: Span; scope: Scope } {
    let scope = parent.getValue(SCOPE) as Scope | undefined;
    let ctx = parent;
    if (!scope) {
      scope = { requestId: undefined, open: new Set() };
      ctx = ctx.setValue(SCOPE, scope);
    }
    const span = tracer.startSpan(name, { kind, attributes, ...(links ? { links } : {}) }, ctx);
    if (span.isRecording()) {
      if (scope.requestId !== undefined) span.setAttribute(REQUEST_ID_ATTRIBUTE, scope.requestId);
      scope.open.add(span);
    }
    return { ctx: trace.setSpan(ctx, span), span, scope };
  }

  function end(span: Span, scope: Scope): void {
    scope.open.delete(span);
    span.end();
  }

  function fail(span: Span, code: string): void {
    span.setAttribute('countersign.error_code', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  }

  /** Runs `fn` with `span` active and ends it when `fn` (or the promise it returns) settles. */
  function within<T>(ctx: Context, span: Span, scope: Scope, fn: () => T): T {
    let result: T;
    try {
      result = contextManager.with(ctx, fn);
    } catch (e) {
      fail(span, codeOf(e));
      end(span, scope);
      throw e;
    }
    if (!isPromiseLike(result)) {
      end(span, scope);
      return result;
    }
    return result.then(
      (v) => {
        end(span, scope);
        return v;
      },
      (e: unknown) => {
        fail(span, codeOf(e));
        end(span, scope);
        throw e;
      },
    ) as T;
  }

  const activeScope = () => contextManager.active().getValue(SCOPE) as Scope | undefined;
  /**
   * Inside a span of a trace not sampled, a step's span would not be recorded either (ParentBased): it is not made at
   * all, and the step runs as it is. What a request the sampler passed over costs is then one span, not one per step;
   * its trace context still reaches the upstream (from the span that is active, the server's). The sampled flag, not
   * isRecording(): a span that has ended (a review's, when the run it started goes on) records nothing more, yet its
   * children are sampled.
   */
  const unrecorded = () => {
    const span = trace.getSpan(contextManager.active());
    // No span at all: a root, which a sampler at 0 never records.
    return span === undefined ? neverRoots : (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
  };
  /** sampleRatio 0: only a caller's sampled trace is recorded; a call that brings none gets no span (see serve). */
  const neverRoots = config.sampleRatio === 0;
  const UNSAMPLED: IncomingCall = { recording: false, rename() {}, set() {}, failed() {} };

  return {
    enabled: true,

    serve(name, attributes, carrier, fn) {
      // A malformed traceparent is no parent: the propagator leaves the context as it was, and a new trace starts.
      const parent = carrier ? propagator.extract(ROOT_CONTEXT, carrier(), getter) : ROOT_CONTEXT;
      // At sampleRatio 0 a call with no trace context of its caller would start a trace nobody records: it runs with
      // its scope alone (the request id for log lines), and hands no trace context on.
      if (neverRoots && trace.getSpanContext(parent) === undefined) {
        return contextManager.with(parent.setValue(SCOPE, { requestId: undefined, open: new Set() }), fn, undefined, UNSAMPLED);
      }
      const { ctx, span, scope } = start(name, SpanKind.SERVER, attributes, parent.setValue(SCOPE, { requestId: undefined, open: new Set() }));
      const call: IncomingCall = {
        recording: span.isRecording(),
        rename: (n) => span.updateName(n),
        set: (a) => span.setAttributes(a),
        failed: () => span.setStatus({ code: SpanStatusCode.ERROR }),
      };
      // Not sampled: no span to end, mark or rename; only its context (the trace id to hand on, the scope) is needed.
      if (!call.recording) return contextManager.with(ctx, fn, undefined, call);
      return within(ctx, span, scope, () => fn(call));
    },

    span(name, attributes, fn, options) {
      if (unrecorded()) return fn();
      let links: Link[] | undefined;
      if (options?.link) {
        const linked = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, { traceparent: options.link }, getter));
        if (linked) links = [{ context: linked }];
      }
      const { ctx, span, scope } = start(name, options?.kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL, attributes, contextManager.active(), links);
      return within(ctx, span, scope, fn);
    },

    annotate(attributes) {
      trace.getSpan(contextManager.active())?.setAttributes(attributes);
    },

    request(id) {
      const scope = activeScope();
      if (!scope || scope.requestId === id) return;
      scope.requestId = id;
      for (const span of scope.open) span.setAttribute(REQUEST_ID_ATTRIBUTE, id);
    },

    traceparent() {
      // A link to a span nobody recorded leads nowhere: nothing to keep.
      if (unrecorded()) return undefined;
      const carrier: Record<string, string> = {};
      propagator.inject(contextManager.active(), carrier, setter);
      return carrier['traceparent'];
    },

    currentRequest: () => activeScope()?.requestId,

    outgoing() {
      const carrier: Record<string, string> = {};
      propagator.inject(contextManager.active(), carrier, setter);
      return carrier;
    },

    bind: (fn) => (unrecorded() ? fn : contextManager.bind(contextManager.active(), fn)),

    async close() {
      try {
        await provider.shutdown();
      } catch (e) {
        log.warn({ code: codeOf(e) }, 'exporting the last spans failed');
      }
      contextManager.disable();
    },
  };
}
