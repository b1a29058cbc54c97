import { foldKey } from '../../src/core/json-keys.ts';

/**
 * The copying fold, as the policy's view made it before it returned input with nothing to fold as it is: a fresh
 * copy whose every key is folded (the first of two that fold alike kept), the reference the fast paths are held to.
 */
export function copyFold(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyFold);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = foldKey(k);
    if (!Object.hasOwn(out, key)) Object.defineProperty(out, key, { value: copyFold(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
