import { describe, expect, it } from 'vitest';
import { durationText } from './duration-text.ts';
import { identityStale, rememberedGroupsCount } from './known-human.ts';

const at = (iso: string) => new Date(iso);
const TWELVE_HOURS = 12 * 3600;

describe('remembered provider groups', () => {
  const signedIn = { seenAt: '2026-01-01T00:00:00.000Z' };

  it('count up to the maximum age after the sign-in, and not a millisecond later', () => {
    expect(rememberedGroupsCount(signedIn, at('2026-01-01T00:00:00.000Z'), TWELVE_HOURS)).toBe(true);
    expect(rememberedGroupsCount(signedIn, at('2026-01-01T12:00:00.000Z'), TWELVE_HOURS)).toBe(true);
    expect(rememberedGroupsCount(signedIn, at('2026-01-01T12:00:00.001Z'), TWELVE_HOURS)).toBe(false);
    expect(rememberedGroupsCount(signedIn, at('2026-03-01T00:00:00.000Z'), TWELVE_HOURS)).toBe(false);
  });

  it('follow the configured age', () => {
    expect(rememberedGroupsCount(signedIn, at('2026-01-01T00:30:00.000Z'), 3600)).toBe(true);
    expect(rememberedGroupsCount(signedIn, at('2026-01-01T01:30:00.000Z'), 3600)).toBe(false);
    expect(rememberedGroupsCount(signedIn, at('2026-01-01T20:00:00.000Z'), 86_400)).toBe(true);
  });

  it('are old when the sign-in time is missing or unreadable (fail closed)', () => {
    const now = at('2026-01-01T00:00:00.000Z');
    expect(rememberedGroupsCount({}, now, TWELVE_HOURS)).toBe(false);
    expect(rememberedGroupsCount({ seenAt: null }, now, TWELVE_HOURS)).toBe(false);
    expect(rememberedGroupsCount({ seenAt: 12 }, now, TWELVE_HOURS)).toBe(false);
    expect(rememberedGroupsCount({ seenAt: 'yesterday' }, now, TWELVE_HOURS)).toBe(false);
    expect(rememberedGroupsCount({ seenAt: '' }, now, TWELVE_HOURS)).toBe(false);
  });

  it('are old under a maximum age that is not a positive number', () => {
    const now = at('2026-01-01T00:00:00.000Z');
    for (const age of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(rememberedGroupsCount(signedIn, now, age)).toBe(false);
  });

  it('count from a sign-in slightly ahead of this clock (another replica), not from one far ahead', () => {
    expect(rememberedGroupsCount({ seenAt: '2026-01-01T00:00:05.000Z' }, at('2026-01-01T00:00:00.000Z'), TWELVE_HOURS)).toBe(true);
    expect(rememberedGroupsCount({ seenAt: '2026-01-02T00:00:00.000Z' }, at('2026-01-01T00:00:00.000Z'), TWELVE_HOURS)).toBe(false);
  });
});

describe('the refusal', () => {
  it('is IDENTITY_STALE, says when they signed in and how old groups may be, and where to sign in again', () => {
    const e = identityStale('dana@example.com', '2026-01-01T00:00:00.000Z', TWELVE_HOURS, 'https://cs.example.com/requests/req_1');
    expect(e.code).toBe('IDENTITY_STALE');
    expect(e.message).toContain('2026-01-01T00:00:00.000Z');
    expect(e.message).toContain('12h');
    expect(e.message).toContain('sign in to the console again at https://cs.example.com/requests/req_1');
    expect(identityStale('dana', 'x', 90).message).toMatch(/sign in to the console again, then review again$/);
  });

  it('writes ages as the config does', () => {
    expect([durationText(43_200), durationText(86_400 * 7), durationText(5400), durationText(90)]).toEqual(['12h', '7d', '90m', '90s']);
  });
});
