import { describe, expect, it } from 'vitest';
import { breakGlassSteppedUp, checkJustification, MAX_JUSTIFICATION, type BreakGlass } from './break-glass.ts';

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

describe('breakGlassSteppedUp', () => {
  const bg: BreakGlass = { by: 'erin', justification: 'INC-1', at: '2026-01-01T00:00:00.000Z', groups: ['oncall'] };
  const confirmed: BreakGlass = { ...bg, stepUp: { method: 'webauthn', credentialId: 'cred-1' } };

  it('asks nothing of a break-glass where the policy in force requires no step-up', () => {
    expect(breakGlassSteppedUp(bg, {})).toBe(true);
    expect(breakGlassSteppedUp(confirmed, {})).toBe(true);
  });

  it('accepts only a passkey-confirmed break-glass where the policy in force requires a step-up', () => {
    expect(breakGlassSteppedUp(bg, { stepUp: 'webauthn' })).toBe(false);
    expect(breakGlassSteppedUp(confirmed, { stepUp: 'webauthn' })).toBe(true);
  });
});
