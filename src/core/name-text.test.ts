import { describe, expect, it } from 'vitest';
import { nameText } from './name-text.ts';

describe('a derived name in a one-line list', () => {
  it('is bare when it is an identifier, quoted when it holds anything a list line uses', () => {
    expect(nameText('public.orders')).toBe('public.orders');
    expect(nameText('größe')).toBe('größe');
    expect(nameText('read-file')).toBe('read-file');
    expect(nameText('orders · read-only')).toBe('"orders · read-only"');
    expect(nameText('a, b')).toBe('"a, b"');
    expect(nameText('')).toBe('""');
    // A quote in it cannot close the quotes early and let the rest read as another fact.
    expect(nameText('x" · read-only · "y')).toBe('"x\\" · read-only · \\"y"');
    expect(nameText('a\\')).toBe('"a\\\\"');
  });
});
