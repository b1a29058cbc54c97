import { describe, expect, it } from 'vitest';
import { CountersignError } from './errors.ts';
import { checkIdempotencyKey, IDEMPOTENCY_KEY_MAX, parseIdempotencyKey } from './idempotency.ts';

const refused = (value: string) => {
  try {
    parseIdempotencyKey(value);
  } catch (e) {
    return e instanceof CountersignError ? e.code : String(e);
  }
  return 'accepted';
};

describe('parseIdempotencyKey', () => {
  it('takes a bare key and the same key as a Structured Field String alike', () => {
    expect(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(parseIdempotencyKey('"a\\"b\\\\c"')).toBe('a"b\\c');
    expect(parseIdempotencyKey('!~')).toBe('!~');
  });

  it('takes 1 to 255 characters and no more', () => {
    expect(parseIdempotencyKey('x'.repeat(IDEMPOTENCY_KEY_MAX))).toHaveLength(255);
    expect(parseIdempotencyKey(`"${'x'.repeat(IDEMPOTENCY_KEY_MAX)}"`)).toHaveLength(255);
    expect(refused('x'.repeat(IDEMPOTENCY_KEY_MAX + 1))).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(refused('')).toBe('IDEMPOTENCY_KEY_INVALID');
    expect(refused('""')).toBe('IDEMPOTENCY_KEY_INVALID');
  });

  it('refuses spaces, controls, anything outside ASCII, and a malformed quoted string', () => {
    for (const bad of ['a b', '"a b"', 'a\tb', 'a\u0000b', 'a\u007fb', 'é', 'ｋｅｙ', 'a, b', '"abc', '"abc"x', '"a\\nb"', '"a"b"']) {
      expect(refused(bad), JSON.stringify(bad)).toBe('IDEMPOTENCY_KEY_INVALID');
    }
  });

  it('checks a key already read without reading quotes again', () => {
    expect(checkIdempotencyKey('"quoted"')).toBe('"quoted"');
    expect(() => checkIdempotencyKey(undefined)).toThrow(CountersignError);
  });
});
