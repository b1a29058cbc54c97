import { describe, expect, it } from 'vitest';
import { jsonTextReadOtherwise } from './json-text.ts';

const strict = (text: string) => {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return null;
  }
};
const otherwise = (text: string) => jsonTextReadOtherwise(text, strict(text));

describe('jsonTextReadOtherwise', () => {
  it.each([
    '{"amount": 5000, "fee": NaN}',
    '{"amount": Infinity}',
    '[{"a": -Infinity}]',
    '\ufeff{"amount": 5000}',
    ' \n{"a": NaN}',
    '{\u0000"\u0000a\u0000"\u0000:\u00001\u0000}\u0000',
    '\u0000{\u0000"\u0000a\u0000"\u0000:\u00001\u0000}',
    '{\u0000\u0000\u0000}\u0000\u0000\u0000',
  ])('%j is JSON to Python only', (text) => {
    expect(otherwise(text)).toMatch(/Python's json/);
  });

  it.each([
    ['{"id": 9007199254740993}', '9007199254740993'],
    ['[1, -9007199254740995]', '-9007199254740995'],
    [`{"n": 1${'0'.repeat(400)}}`, `1${'0'.repeat(39)}`],
  ])('%j holds an integer a double rounds', (text, shown) => {
    expect(otherwise(text)).toContain(shown);
  });

  it.each([
    '{"amount": 5000}',
    '{"id": 9007199254740992, "x": 1e400, "y": 0.1, "z": -0, "s": "NaN 9007199254740993 \\" Infinity"}',
    '"9007199254740993"',
    'NaN',
    'amount is NaN',
    '{"amount": 5000',
    '\ufeffhello',
    '{"a": NaNx}',
    '"\\"\\"\\"\\"\\"',
    '',
  ])('%j reads alike', (text) => {
    expect(otherwise(text)).toBeNull();
  });

  it('is linear in a text of escaped quotes that never closes', () => {
    const text = `{"a": "${'\\"'.repeat(200_000)}`;
    const start = performance.now();
    expect(otherwise(text)).toBeNull();
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
