import { describe, expect, it } from 'vitest';
import { evaluationErrorText } from './compile.ts';

describe('evaluationErrorText', () => {
  it('leaves out the key of a failed lookup, whatever follows it on the line', () => {
    expect(evaluationErrorText(new Error('No such key: s3cret'))).toBe('No such key: …');
    expect(evaluationErrorText(new Error('No such key: s3cret\rmore'))).toBe('No such key: …');
    expect(evaluationErrorText(new Error('bool() conversion error: invalid string value "s3cret"'))).toBe('bool() conversion error: invalid string value "…"');
  });

  it('reads a mebibyte-long key made of the phrases it looks for in linear time', () => {
    const key = `${'index out of range:'.repeat(55_000)}\r`;
    expect(evaluationErrorText(new Error(`No such key: ${key}`))).toBe('No such key: …');
  });
});
