import { describe, expect, it } from 'vitest';
import { isCountersignError } from './errors.ts';
import { parseExportBound, parsePeriodBound } from './period-bound.ts';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isCountersignError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return 'accepted';
};

describe('period bounds', () => {
  it('reads a date as midnight UTC and a time with its zone as that instant', () => {
    expect(parsePeriodBound('2026-07-01', 'from').toISOString()).toBe('2026-07-01T00:00:00.000Z');
    expect(parsePeriodBound('2026-07-01T02:00:00+02:00', 'from').toISOString()).toBe('2026-07-01T00:00:00.000Z');
  });

  it('refuses a time without its zone, an impossible date and words, naming the parameter', () => {
    for (const v of ['2026-07-01T00:00:00', '2026-02-30x', 'yesterday', '', '2026-13-01']) {
      expect(refusal(() => parsePeriodBound(v, 'to')), v).toMatch(/^INVALID_REQUEST: to: a date such as/);
    }
  });

  it('reads an export bound as a seq number from 1, or as a date', () => {
    expect(parseExportBound('42', 'from')).toBe(42);
    expect(parseExportBound('2026-07-01', 'from')).toEqual(new Date('2026-07-01T00:00:00Z'));
    expect(refusal(() => parseExportBound('0', 'from'))).toBe('INVALID_REQUEST: from: a seq number starts at 1');
    expect(refusal(() => parseExportBound('1e3', 'from'))).toMatch(/^INVALID_REQUEST: from: a date such as/);
    expect(refusal(() => parseExportBound('9'.repeat(16), 'from'))).toMatch(/^INVALID_REQUEST/);
  });
});
