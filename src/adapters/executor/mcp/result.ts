/**
 * What an upstream tool returns, made safe to keep and to hand back: the
 * connection's secrets replaced wherever they appear, and a bound on size so
 * one large answer cannot fill the store.
 */
const MAX_RESULT_BYTES = 1_048_576;

/** Replaces every configured secret (8 characters or more, the credential after `Bearer ` too) in every string. */
export function createScrubber(values: readonly string[]): <T>(v: T) => T {
  const secrets = values
    .flatMap((v) => [v, v.slice(v.lastIndexOf(' ') + 1)])
    .filter((v) => v.length >= 8)
    .sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return (v) => v;
  const inString = (s: string) => secrets.reduce((t, secret) => t.split(secret).join('[redacted]'), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return inString(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return <T>(v: T) => walk(v) as T;
}

/** The result as kept, or when too large, its text cut to the bound and marked so. */
export function boundedResult(result: { content?: unknown; isError?: boolean }): { output: unknown; bytes: number; truncated: boolean } {
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes <= MAX_RESULT_BYTES) return { output: result, bytes, truncated: false };
  const text = (Array.isArray(result.content) ? result.content : [])
    .map((c: { type?: string; text?: string }) => (c.type === 'text' && typeof c.text === 'string' ? c.text : `[${c.type ?? 'item'} left out]`))
    .join('\n')
    .slice(0, MAX_RESULT_BYTES / 2);
  return {
    output: { content: [{ type: 'text', text: `${text}\n[the result was ${bytes} bytes; the gateway keeps at most ${MAX_RESULT_BYTES}, so it was cut]` }], isError: result.isError === true },
    bytes,
    truncated: true,
  };
}
