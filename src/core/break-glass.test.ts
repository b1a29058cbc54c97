import { describe, expect, it } from 'vitest';
import { checkJustification, MAX_JUSTIFICATION } from './break-glass.ts';

describe('checkJustification', () => {
  it('keeps words, trimmed', () => {
    expect(checkJustification('  checkout is down, INC-4211 \u3000')).toBe('checkout is down, INC-4211');
  });

  it('refuses what reads as blank: whitespace, zero-width and blank-looking characters, punctuation alone', () => {
    for (const blank of [undefined, 42, '', '   ', '\u00a0\u3000\ufeff', '\u200b\u200b', '\u2800', '\u200d\u2060', '...', 'x'.repeat(MAX_JUSTIFICATION + 1)]) {
      expect(() => checkJustification(blank), JSON.stringify(blank)).toThrow(expect.objectContaining({ code: 'JUSTIFICATION_REQUIRED' }));
    }
  });
});
