import { describe, expect, it } from 'vitest';
import { withoutQuotedValues } from './quoted-values.ts';

describe('withoutQuotedValues', () => {
  it('leaves out what PostgreSQL quotes: an input, a key, a failing row', () => {
    expect(withoutQuotedValues('invalid input syntax for type integer: "s3cret"')).toBe('invalid input syntax for type integer: "…"');
    expect(withoutQuotedValues('invalid input syntax for type json: "a \\"quoted\\" s3cret"')).toBe('invalid input syntax for type json: "…"');
    expect(withoutQuotedValues('Key (email)=(x@y.z) already exists.')).toBe('Key (…)=(…)');
    expect(withoutQuotedValues('Failing row contains (1, s3cret).')).toBe('Failing row contains (…)');
    expect(withoutQuotedValues('unterminated "s3cret')).toBe('unterminated "…"');
    expect(withoutQuotedValues('first line\nDETAIL: Key (id)=(7)')).toBe('first line');
  });

  it('drops a key after a line break other than \\n, in linear time on a long error text', () => {
    expect(withoutQuotedValues('Key (email)=(s3cret)\r more')).toBe('Key (…)=(…)');
    expect(withoutQuotedValues(`${'Key ('.repeat(200_000)}\r`)).toBe('Key (…)=(…)');
    expect(withoutQuotedValues(`x ${'Failing row contains ('.repeat(40_000)}\u2028`)).toBe('x Failing row contains (…)');
  });
});
