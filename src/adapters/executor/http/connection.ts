/**
 * An `http` connection: the gateway calls the configured base URL with the
 * configured headers (its credentials), which always win over the agent's.
 * Responses are bounded so one large upstream answer cannot exhaust memory.
 */
import { Pool } from 'undici';
import type { ActionInput, HttpInput } from '../../../core/action.ts';
import type { TagValue } from '../../../core/connection.ts';
import type { ConnectionHandle, ExecutionResult } from '../../../core/ports.ts';
import { deriveHttpFacts, isDroppedHeader, normaliseHttpTarget, type HttpTargetOptions } from './facts.ts';

export interface HttpConnectionConfig {
  readonly name: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, TagValue>>;
  readonly timeoutMs: number;
  readonly paths?: { readonly caseInsensitive: boolean };
  readonly allow?: { readonly headers: readonly string[]; readonly query: readonly string[] };
}

const MAX_BODY_BYTES = 1_048_576;
// Hop-by-hop and routing headers are the gateway's business, never the agent's.
const DROPPED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'content-length']);

function encodeBody(input: HttpInput, headers: Record<string, string>): string | undefined {
  if (input.body === undefined) return undefined;
  if (typeof input.body === 'string') return input.body;
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return JSON.stringify(input.body);
}

async function readBounded(body: AsyncIterable<Buffer>): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    if (size + chunk.length > MAX_BODY_BYTES) {
      chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
      truncated = true;
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
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
  const target: HttpTargetOptions = { caseInsensitivePaths: config.paths?.caseInsensitive ?? false, allowHeaders: config.allow?.headers ?? [], allowQuery: config.allow?.query ?? [] };
  const configured = new Set(Object.keys(config.headers).map((h) => h.toLowerCase()));
  // An upstream that echoes requests (a debug endpoint) must not hand the gateway's credentials to the agent.
  // The whole value and the credential after a scheme (`Bearer <token>`): an upstream may echo either.
  const secrets = Object.values(config.headers)
    .flatMap((v) => [v, v.slice(v.lastIndexOf(' ') + 1)])
    .filter((v) => v.length >= 8)
    .sort((a, b) => b.length - a.length);
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);

  return {
    info: { name: config.name, kind: 'http', tags: config.tags },
    maxRunMs: config.timeoutMs,
    facts: (input: ActionInput) => deriveHttpFacts(input as HttpInput, target),
    async execute(input: ActionInput): Promise<ExecutionResult> {
      const http = input as HttpInput;
      const { upstreamPath, query } = normaliseHttpTarget(http, target);
      const search = new URLSearchParams();
      for (const [k, vs] of Object.entries(query)) for (const v of vs) search.append(k, v);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(http.headers ?? {})) {
        if (!DROPPED.has(k.toLowerCase()) && !configured.has(k.toLowerCase()) && !isDroppedHeader(k, target)) headers[k] = v;
      }
      Object.assign(headers, config.headers);
      const body = encodeBody(http, headers);
      const qs = search.toString();
      try {
        const res = await pool.request({
          path: `${basePath}${upstreamPath}${qs ? `?${qs}` : ''}`,
          method: http.method as 'GET',
          headers,
          body,
          // undici's own timeouts are idle timeouts; this bounds the whole call, as the run deadline assumes.
          signal: AbortSignal.timeout(config.timeoutMs),
        });
        const read = await readBounded(res.body);
        const text = scrub(read.text);
        const truncated = read.truncated;
        const contentType = String(res.headers['content-type'] ?? '');
        let parsed: unknown = text;
        if (contentType.includes('json') && !truncated) {
          try {
            parsed = JSON.parse(text) as unknown;
          } catch {
            parsed = text;
          }
        }
        const ok = res.statusCode < 400;
        return {
          ok,
          output: { status: res.statusCode, contentType, body: parsed, ...(truncated ? { truncated: true } : {}) },
          summary: { status: res.statusCode, bytes: Buffer.byteLength(text) },
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
      }
    },
    async close() {
      await pool.close();
    },
  };
}
