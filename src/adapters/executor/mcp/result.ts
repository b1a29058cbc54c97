/**
 * What an upstream tool returns, made safe to keep and to hand back: the
 * connection's secrets replaced wherever they appear, and a bound on size so
 * one large answer cannot fill the store.
 */
import { createSecretScrubber, type SecretScrubber } from '../../../core/scrub.ts';
import { secretParts } from '../../../core/secret-parts.ts';

const MAX_RESULT_BYTES = 1_048_576;

/**
 * The connection's secrets (each value, the credential after a scheme, a Basic
 * credential's parts) found and replaced in every string and key of a value,
 * as written or escaped or encoded (core/scrub.ts).
 */
export function createScrubber(values: readonly string[]): SecretScrubber {
  return createSecretScrubber(secretParts(values));
}

// Past the bound by more than any encoded secret is long: a string cut here is cut again, at the bound, after scrubbing.
const SCRUB_MARGIN = 65_536;

/**
 * The upstream's result scrubbed, then kept whole or — when too large — its
 * text cut to the bound and marked so. Strings are first shortened to the
 * bound and a margin (nothing past it would be kept), so scrubbing a huge
 * answer costs no more than scrubbing a large one.
 */
export function scrubbedResult(raw: { content?: unknown; isError?: boolean }, scrubber: SecretScrubber): { output: unknown; bytes: number; truncated: boolean } {
  const bytes = Buffer.byteLength(JSON.stringify(raw));
  const shortened = bytes <= MAX_RESULT_BYTES ? raw : shortenStrings(raw, MAX_RESULT_BYTES + SCRUB_MARGIN);
  const scrubbed = scrubber.scrubValue(shortened);
  if (hidesSecretInText(scrubbed, scrubber)) {
    return { output: { content: [{ type: 'text', text: WITHHELD }], isError: raw.isError === true }, bytes, truncated: false };
  }
  return boundedResult(scrubbed, scrubber, bytes);
}

const WITHHELD = '[withheld: the result holds a credential in a form that could not be removed]';

/**
 * Whether the result, its strings already scrubbed, still gives a secret away as JSON text: structured content holds
 * numbers and arrays too, which a walk over strings never reads (a numeric secret as a number, a token as Node's
 * JSON of a Buffer, an array of byte values). And text in UTF-16 or UTF-32 read as UTF-8 (a tool that reads such a
 * file) has a NUL beside each character, which no search for a secret matches: one seen once they are taken out
 * counts too. Either withholds the result whole (and leaves a tool out of a listing).
 */
export function hidesSecretInText(value: unknown, scrubber: SecretScrubber): boolean {
  if (scrubber.empty) return false;
  const text = JSON.stringify(value);
  const found = (t: string) => {
    const again = scrubber.scrub(t);
    return !again.clean || again.text !== t;
  };
  if (found(text)) return true;
  return text.includes('\\u0000') && found(text.replaceAll('\\u0000', ''));
}

function shortenStrings<T>(value: T, max: number): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.length > max ? v.slice(0, max) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** The result as kept, or when too large (`bytes` as the upstream sent it), its text cut to the bound and marked so. */
function boundedResult(result: { content?: unknown; isError?: boolean }, scrubber: SecretScrubber, bytes: number): { output: unknown; bytes: number; truncated: boolean } {
  if (bytes <= MAX_RESULT_BYTES) return { output: result, bytes, truncated: false };
  const text = (Array.isArray(result.content) ? result.content : [])
    .map((c: { type?: string; text?: string }) => (c.type === 'text' && typeof c.text === 'string' ? c.text : `[${c.type ?? 'item'} left out]`))
    .join('\n');
  // Each string was scrubbed whole (within the bound and its margin): a secret across the cut was replaced already.
  const kept = scrubber.clip(text, MAX_RESULT_BYTES / 2);
  return {
    output: { content: [{ type: 'text', text: `${kept}\n[the result was ${bytes} bytes; the gateway keeps at most ${MAX_RESULT_BYTES}, so it was cut]` }], isError: result.isError === true },
    bytes,
    truncated: true,
  };
}
