/**
 * The tracing port: what use cases and surfaces say about the work they do
 * (steps as spans, the request it is about), without knowing whether anyone
 * records it. Its own file beside ports.ts, which is at its size limit.
 *
 * A port rather than calls to `@opentelemetry/api`: the service depends on
 * core and ports only, each gateway owns its tracer provider (several can
 * share a process, as tests do, so nothing global is registered), and the
 * request id it carries is also what puts the request on log lines, with
 * tracing on or off.
 */

/** Attribute values of a span: never a credential, an input or a statement's text. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** The attribute naming the request a span worked on. */
export const REQUEST_ID_ATTRIBUTE = 'countersign.request_id';

/** W3C Trace Context headers as a caller sent them (unchecked: a malformed one is ignored). */
export interface TraceCarrier {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** The server span of one incoming call, for what is known only at its end. */
export interface IncomingCall {
  /** Whether the span is recorded (tracing on and sampled): when not, what is said here is dropped, so skip working it out. */
  readonly recording: boolean;
  rename(name: string): void;
  set(attributes: SpanAttributes): void;
  /** The call failed on the gateway's side (a 5xx). */
  failed(): void;
}

export interface Tracer {
  /**
   * Runs `fn` as one incoming call (an HTTP request, a wire statement): a
   * server span, the child of the caller's trace when `carrier` holds a valid
   * one, and a fresh scope for the request id. `carrier` is read only when tracing is on.
   */
  serve<T>(name: string, attributes: SpanAttributes, carrier: (() => TraceCarrier) | undefined, fn: (call: IncomingCall) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` (synchronous or not) in a span named `name`; a throw marks the
   * span failed and goes on. `link`: a W3C traceparent (as `traceparent()`
   * gave) of the work this continues, such as the submission of an action
   * that runs after its approval. `kind: 'client'`: a call to another system.
   *
   * @example
   * const facts = deps.tracer.span('facts', { 'countersign.connection': name }, () => handle.facts(input));
   */
  span<T>(name: string, attributes: SpanAttributes, fn: () => T, options?: { readonly link?: string; readonly kind?: 'internal' | 'client' }): T;
  /** Attributes known once a step is under way (an outcome), on the active span. */
  annotate(attributes: SpanAttributes): void;
  /** The request the work in progress is about: set on its open spans, the spans it starts from now and its log lines. */
  request(id: string): void;
  /** The active span as a W3C traceparent, to link later work to; undefined when nothing is recorded (tracing off, not sampled). */
  traceparent(): string | undefined;
}
