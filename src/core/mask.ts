/**
 * Masking sensitive values in what the audit log keeps. The log stores an
 * HMAC of the value, never the value: an auditor who holds a known value can
 * compute its HMAC (`countersign audit hash`) and find it, as with Vault's
 * audit devices, but the log itself reveals nothing.
 */

/** A masking function: value → `hmac-sha256:<hex>` (or any stand-in). */
export type Mask = (value: string) => string;

type Segment = string | number | '*';

/** `body.card.number`, `query.token`, `params[1]`, `args[*]`, `body.*.secret` → segments. */
export function parseMaskPath(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[(?:\d+|\*)\])*)$/.exec(part);
    if (!m || (m[1] === '' && !m[2])) throw new Error(`not a path: ${path}`);
    if (m[1]) segments.push(m[1]);
    for (const idx of m[2]?.match(/\[(\d+|\*)\]/g) ?? []) {
      const inner = idx.slice(1, -1);
      segments.push(inner === '*' ? '*' : Number(inner));
    }
  }
  return segments;
}

function maskValue(v: unknown, mask: Mask): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'object') return mask(JSON.stringify(v));
  return mask(String(v));
}

function apply(node: unknown, segments: readonly Segment[], mask: Mask): unknown {
  if (segments.length === 0) return maskValue(node, mask);
  if (node === null || typeof node !== 'object') return node;
  const [head, ...rest] = segments;
  if (Array.isArray(node)) {
    return node.map((v, i) => (head === '*' || head === i ? apply(v, rest, mask) : v));
  }
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(node)) out[k] = head === '*' || head === k ? apply(v, rest, mask) : v;
  return { ...out };
}

/**
 * A copy of `value` with the values at `paths` masked (missing paths are skipped).
 *
 * @example
 * maskPaths({ body: { card: '4111' } }, ['body.card'], mask); // { body: { card: 'hmac-sha256:…' } }
 */
export function maskPaths<T>(value: T, paths: readonly string[], mask: Mask): T {
  let out: unknown = value;
  for (const p of paths) out = apply(out, parseMaskPath(p), mask);
  return out as T;
}
