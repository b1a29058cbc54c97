/**
 * An `http` connection: the gateway calls the configured base URL with the
 * configured headers (its credentials), which always win over the agent's.
 * Responses are decoded, scrubbed of those credentials and bounded (response.ts).
 */
import { Pool } from 'undici';
import type { ActionInput, HttpInput } from '../../../core/action.ts';
import type { TagValue } from '../../../core/connection.ts';
import type { ConnectionHandle, ExecutionResult } from '../../../core/ports.ts';
import { createSecretScrubber } from '../../../core/scrub.ts';
import { secretParts } from '../../../core/secret-parts.ts';
import { CallDeadline } from './deadline.ts';
import { readScrubbed } from './response.ts';
import { deriveHttpFacts, headerKey, isDroppedHeader, normaliseHttpTarget, type HttpTargetOptions } from './facts.ts';
import { bodyHasJsonFields } from './json-type.ts';

export interface HttpConnectionConfig {
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, TagValue>>;
  readonly timeoutMs: number;
  readonly paths?: { readonly caseInsensitive: boolean; readonly keepTrailingSlash: boolean };
  readonly allow?: { readonly headers: readonly string[]; readonly query: readonly string[] };
  /** The W3C trace context of the active span (tracing on), made by the gateway: it replaces any the action's headers carry. */
  readonly traceHeaders?: () => Record<string, string>;
  /** Values in the url that are secrets (taken from the environment): scrubbed like the headers' values. */
  readonly secrets?: readonly string[];
}

// Hop-by-hop and routing headers are the gateway's business, never the agent's. Accept-Encoding too: the gateway
// asks for what it can decode and check for secrets. Expect as well: the gateway frames the call and sends the body
// whole (undici refuses to send Expect, so an approved call carrying it failed at run).
const DROPPED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'content-length', 'accept-encoding', 'expect']);

// W3C Trace Context.
const TRACE_CONTEXT = new Set(['traceparent', 'tracestate']);

function encodeBody(input: HttpInput, headers: Record<string, string>): string | undefined {
  if (input.body === undefined) return undefined;
  const typed = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
  // JSON text goes declared as JSON, as a JSON value does: policy read it by its fields, and so must an upstream that
  // parses only what its Content-Type says is JSON (facts.ts refuses it under any other type).
  if (typeof input.body === 'string') {
    if (!typed && bodyHasJsonFields(input.body)) headers['content-type'] = 'application/json';
    return input.body;
  }
  if (!typed) headers['content-type'] = 'application/json';
  return JSON.stringify(input.body);
}

/**
 * @example
 * const billing = createHttpConnection({ name: 'billing-api', url: 'http://127.0.0.1:9000', headers: {}, tags: {}, timeoutMs: 30000 });
 */
export function createHttpConnection(config: HttpConnectionConfig): ConnectionHandle & { close(): Promise<void> } {
  const base = new URL(config.url);
  const basePath = base.pathname.replace(/\/$/, '');
  const pool = new Pool(base.origin, {
    connections: 128,
    keepAliveTimeout: 10_000,
    headersTimeout: config.timeoutMs,
    bodyTimeout: config.timeoutMs,
  });
  const contentType = Object.entries(config.headers).find(([h]) => headerKey(h) === 'content-type')?.[1];
  const target: HttpTargetOptions = {
    caseInsensitivePaths: config.paths?.caseInsensitive ?? false,
    keepTrailingSlash: config.paths?.keepTrailingSlash ?? false,
    allowHeaders: config.allow?.headers ?? [],
    allowQuery: config.allow?.query ?? [],
    ...(contentType !== undefined ? { contentType } : {}),
  };
  // Matched as servers match names (X_Api_Key is X-Api-Key to CGI): an agent cannot add a second copy of a configured header.
  const configured = new Set(Object.keys(config.headers).map(headerKey));
  // An upstream that echoes requests (a debug endpoint) must not hand the gateway's credentials to the agent.
  const scrubber = createSecretScrubber(secretParts([...Object.values(config.headers), ...(config.secrets ?? [])]));
  // Content-Type values the scrubber passed whole: an upstream sends the same few, and scrubbing one costs more than
  // scrubbing a small body. The scrubber is a pure function of the text, so a value seen clean is clean again; a
  // value it changed or refused is never kept (nor, so, any secret), and is scrubbed every time.
  const cleanTypes = new Set<string>();
  const scrubbedType = (raw: string): string => {
    if (cleanTypes.has(raw)) return raw;
    // Like the body: scrubbed whole, then cut to 200 characters wherever that falls (a secret across the cut was seen
    // whole and replaced; a cut that looked for a secret's beginning would tell an agent whether its own text, echoed
    // there, begins one); dropped if it will not come clean.
    const type = scrubber.scrub(raw);
    const out = !type.clean ? '' : scrubber.clip(type.text, 200);
    if (out === raw) {
      if (cleanTypes.size >= 64) cleanTypes.clear();
      cleanTypes.add(raw);
    }
    return out;
  };

  return {
    info: { kind: 'http', name: config.name, tags: config.tags },
    maxRunMs: config.timeoutMs,
    facts: (input: ActionInput) => deriveHttpFacts(input as HttpInput, target),
    async execute(input: ActionInput): Promise<ExecutionResult> {
      const http = input as HttpInput;
      const { upstreamPath, query } = normaliseHttpTarget(http, target);
      const search = new URLSearchParams();
      for (const [k, vs] of Object.entries(query)) for (const v of vs) search.append(k, v);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(http.headers ?? {})) {
        if (!DROPPED.has(headerKey(k)) && !configured.has(headerKey(k)) && !isDroppedHeader(k, target)) headers[k] = v;
      }
      // The gateway's trace context replaces the pair an action's headers carry, so the two never disagree.
      const trace = config.traceHeaders?.() ?? {};
      if (trace['traceparent'] !== undefined) for (const k of Object.keys(headers)) if (TRACE_CONTEXT.has(headerKey(k))) delete headers[k];
      for (const [k, v] of Object.entries(trace)) if (!configured.has(k)) headers[k] = v;
      Object.assign(headers, config.headers);
      if (!configured.has('accept-encoding')) headers['accept-encoding'] = 'identity';
      const body = encodeBody(http, headers);
      // URLSearchParams writes a space as `+` (a `+` as %2B); servers that decode RFC 3986 escapes only would read it as a plus.
      const qs = search.toString().replaceAll('+', '%20');
      // The whole call, the body read included (deadline.ts).
      const deadline = new CallDeadline(config.timeoutMs);
      try {
        const res = await pool.request({
          path: `${basePath}${upstreamPath}${qs ? `?${qs}` : ''}`,
          method: http.method as 'GET',
          headers,
          body,
          signal: deadline,
        });
        const read = await readScrubbed(res.body, res.headers, scrubber);
        const contentType = scrubbedType(String(res.headers['content-type'] ?? ''));
        let parsed: unknown = read.text;
        if (read.text !== null && contentType.includes('json') && !read.truncated) {
          try {
            parsed = JSON.parse(read.text) as unknown;
          } catch {
            parsed = read.text;
          }
        }
        const ok = res.statusCode < 400;
        return {
          ok,
          output: {
            status: res.statusCode,
            contentType,
            body: parsed,
            ...(read.truncated ? { truncated: true } : {}),
            ...(read.withheld ? { bodyWithheld: read.withheld } : {}),
          },
          // Keys in canonical order, as the audit log writes them.
          summary: { ...(read.withheld ? { bodyWithheld: true } : {}), bytes: read.bytes, status: res.statusCode },
          ...(ok ? {} : { error: { code: 'EXECUTION_FAILED', message: `${config.name} answered HTTP ${res.statusCode}` } }),
        };
      } catch (e) {
        // undici's errors name the address; the agent learns only which connection failed.
        const kind = e instanceof Error && /timeout|abort/i.test(e.name + e.message) ? 'timed out' : 'could not be reached';
        return {
          ok: false,
          output: null,
          summary: { error: kind },
          error: { code: 'EXECUTION_FAILED', message: `${config.name} ${kind}` },
        };
      } finally {
        deadline.clear();
      }
    },
    async close() {
      await pool.close();
    },
  };
}
