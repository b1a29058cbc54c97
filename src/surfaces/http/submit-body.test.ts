import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainSubmitBody, submitBody } from './submit-body.ts';

const SPACES = ['', ' ', '\t', '\n', '\u00a0', '\ufeff', '\u2028', '\u3000'];
const reason = fc.oneof(
  fc.string(),
  fc.tuple(fc.constantFrom(...SPACES), fc.string({ maxLength: 5 }), fc.constantFrom(...SPACES)).map(([a, b, c]) => a + b + c),
  fc.constantFrom('x'.repeat(4000), ` ${'x'.repeat(4000)} `, 'x'.repeat(4001)),
);
const connection = fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('', 'a'.repeat(200), 'a'.repeat(201)));
const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), reason, connection);
const key = fc.constantFrom('connection', 'input', 'reason', 'Reason', 'extra', '__proto__', 'toString');
/** Bodies near the schema's edges: its three keys (or some of them, or more), values of every kind, JSON.parse's own `__proto__`. */
const body = fc.oneof(
  fc.record({ connection, input: value, reason }, { requiredKeys: [] }),
  fc.record({ connection: value, input: value, reason: value }),
  fc.array(fc.tuple(key, fc.oneof(value, connection, reason)), { maxLength: 5 }).map((entries) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
  fc.constantFrom(null, [], 'text', 3, Object.create(null) as object, JSON.parse('{"__proto__":1,"connection":"a","input":1,"reason":"r"}') as object),
);

describe('the submission body read without the schema', () => {
  it('is, whenever it is read, exactly what the schema makes of the same body', () => {
    fc.assert(
      fc.property(body, (raw) => {
        const plain = plainSubmitBody(raw);
        if (plain === undefined) return;
        const parsed = submitBody.safeParse(raw);
        expect(parsed.success).toBe(true);
        expect(JSON.stringify(plain)).toBe(JSON.stringify(parsed.data));
        expect(Object.keys(plain)).toEqual(Object.keys(parsed.data!));
        expect(plain.input).toBe(parsed.data!.input);
      }),
      { numRuns: 5000 },
    );
  });

  it('reads every plain body of exactly the three keys that the schema takes', () => {
    fc.assert(
      fc.property(fc.record({ connection, input: value, reason }).map((r) => ({ ...r })), (raw) => {
        if (submitBody.safeParse(raw).success) expect(plainSubmitBody(raw)).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });
});
