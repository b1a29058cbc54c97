import { describe, expect, it } from 'vitest';
import { assertWellFormed, illFormedAt, wellFormed } from './well-formed.ts';

describe('wellFormed', () => {
  it.each([
    ['', true],
    ['plain', true],
    ['a\u{1F600}b', true],
    ['\ufffd', true],
    ['a\ud800b', false],
    ['\udc00', false],
    ['\ude00\ud83d', false],
    ['\ud83d', false],
  ])('%j → %s', (text, ok) => {
    expect(wellFormed(text)).toBe(ok);
  });
});

describe('illFormedAt', () => {
  it('names the first value with a lone surrogate, in the order JSON writes them', () => {
    expect(illFormedAt({ a: 'ok', b: ['x', '\ud800'], c: '\udc00' }, 'input')).toBe('input.b.1');
    expect(illFormedAt(['\ud800'], 'input')).toBe('input.0');
  });

  it('names the object that holds a key with one, and shows the key escaped', () => {
    expect(illFormedAt({ q: { ['n\ud800']: 1 } }, 'input')).toBe('input.q (the name "n\\ud800")');
  });

  it('is null for well-formed text, numbers, booleans and null', () => {
    expect(illFormedAt({ s: 'a\u{1F600}', n: 1, b: true, z: null, l: [[{}]] }, 'input')).toBeNull();
  });
});

describe('assertWellFormed', () => {
  it('refuses a reason with a lone surrogate as INVALID_INPUT naming it', () => {
    expect(() => assertWellFormed('reason', 'why \ud800')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('reason') }));
    expect(() => assertWellFormed('reason', 'why \u{1F600}')).not.toThrow();
  });
});
