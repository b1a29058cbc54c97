import { describe, expect, it } from 'vitest';
import { parseInput } from './action.ts';
import { canonicalJson } from './digest.ts';
import { CountersignError } from './errors.ts';

/** A value nested `levels` deep, built without recursion. */
function deep(levels: number, wrap: (v: unknown) => unknown = (v) => [v]): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = wrap(v);
  return v;
}

describe('nesting depth', () => {
  it('parseInput refuses an input nested past 64 levels with INPUT_TOO_DEEP, whatever surface it came from', () => {
    const call = () => parseInput('mcp', { tool: 't', arguments: { a: deep(5000, (v) => ({ k: v })) } });
    expect(call).toThrow(CountersignError);
    expect(call).toThrow(/more than 64 levels/);
    expect(() => parseInput('http', { method: 'POST', path: '/x', body: deep(60) })).not.toThrow();
  });

  it('canonicalJson refuses a value deeper than it can walk instead of overflowing the stack, on both of its paths', () => {
    expect(() => canonicalJson(deep(20_000))).toThrow(/nests more than 512 levels/);
    // Integer-like keys take the package's recursive path.
    expect(() => canonicalJson(deep(20_000, (v) => ({ '1': v })))).toThrow(/nests more than 512 levels/);
    expect(canonicalJson(deep(3))).toBe('[[[1]]]');
  });
});
