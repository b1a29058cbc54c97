import { describe, expect, it } from 'vitest';
import { withoutTrailingSemicolons } from './undo-capture.ts';
import { exactJson } from './undo-run.ts';

describe('withoutTrailingSemicolons', () => {
  it('drops only the trailing run of semicolons', () => {
    expect(withoutTrailingSemicolons('DELETE FROM t WHERE a = \';\';;;')).toBe("DELETE FROM t WHERE a = ';'");
    expect(withoutTrailingSemicolons(';;;')).toBe('');
  });

  it('reads a mebibyte of semicolons followed by something else in linear time', () => {
    const text = `${';'.repeat(1024 * 1024)} x`;
    expect(withoutTrailingSemicolons(text)).toBe(text);
  });
});

describe('exactJson', () => {
  it('refuses a numeric of the longest PostgreSQL allows, with a long run of zeros inside, in linear time', () => {
    expect(exactJson(`{"n": 1${'0'.repeat(131_070)}1}`)).toBeUndefined();
    expect(exactJson(`{"n": 1.5${'0'.repeat(16_000)}}`)).toEqual({ n: 1.5 });
  });
});
