/**
 * What an agent can do to a plausible rule with the values it controls
 * (action.input, reason, context, claims): make it run long, or make it
 * decide otherwise than CEL would. Each case goes the way a decision does:
 * compile at load, evaluate bounded; each expected outcome is the CEL
 * spec's (cel-go for the strings extension and duration parsing).
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, type PolicyVariables } from './compile.ts';
import { evaluatePolicy } from './evaluate.ts';
import type { Decision } from './decision.ts';

function withInput(input: unknown): PolicyVariables {
  return {
    principal: { id: 'bot', kind: 'agent', actsFor: null, groups: [], claims: {}, github: null },
    action: { connection: 'api', operation: 'http.request', input, reason: '' },
    connection: { name: 'api', kind: 'http', tags: {} },
    facts: {},
    context: { time: new Date('2025-01-01T00:00:00Z'), request: {} },
  };
}

/** A policy that allows unless the deny rule matches (or cannot be evaluated). */
function deny(when: string, input: unknown): Decision {
  const p = compilePolicy({ default: 'allow', defaultTtlSeconds: 60, rules: [{ id: 'r', when, effect: 'deny' }] });
  return evaluatePolicy(p, withInput(input));
}

/** true / false as the condition evaluates, or 'error' when it fails to. */
function cel(when: string, input: unknown = {}): boolean | 'error' {
  const d = evaluatePolicy(compilePolicy({ default: 'deny', defaultTtlSeconds: 60, rules: [{ id: 'r', when, effect: 'allow' }] }), withInput(input));
  if (d.errors.length) return 'error';
  return d.effect === 'allow';
}

describe('duration() of an agent string', () => {
  it('parses a long run of digits in linear time: the rule decides (denies) instead of stalling the gateway', () => {
    // The library's parser backtracks quadratically here: 100 000 digits took minutes.
    const d = deny("duration(action.input.timeout) > duration('1h')", { timeout: '1'.repeat(100_000) });
    expect(d.effect).toBe('deny');
    expect(d.errors[0]?.message).toMatch(/invalid duration/);
  });

  it.each([
    ["duration('1h30m') == duration('90m')", true],
    ["duration('1.5h') == duration('90m')", true],
    ["duration('-1.5s') < duration('0s')", true],
    ["duration('1.s') == duration('1s')", true],
    ["duration('.5s') == duration('500ms')", true],
    ["duration('0') == duration('0s')", true],
    ["duration('1µs') == duration('1000ns')", true],
    ["duration('h') == duration('0s')", 'error'],
    ["duration('.h') == duration('0s')", 'error'],
    ["duration('.s') == duration('0s')", 'error'],
    ["duration('1') == duration('0s')", 'error'],
    ["duration('1d') == duration('0s')", 'error'],
    ["duration('') == duration('0s')", 'error'],
    ["duration('1h ') == duration('1h')", 'error'],
    ["duration('2562048h') > duration('0s')", 'error'],
  ] as const)('%s is %s (as Go time.ParseDuration)', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });

  it('refuses, as an error that denies, a duration the agent makes zero by leaving out its number', () => {
    const d = deny("duration(action.input.ttl) > duration('1h')", { ttl: 'h' });
    expect(d.effect).toBe('deny');
  });

  it('makes a timestamp moved out of range an error, not an Invalid Date that compares false', () => {
    expect(cel("timestamp(action.input.t) + duration('2562047h') > timestamp(action.input.t)", { t: '9990-01-01T00:00:00Z' })).toBe('error');
    expect(cel("timestamp(action.input.t) - duration('2562047h') < timestamp(action.input.t)", { t: '0010-01-01T00:00:00Z' })).toBe('error');
    expect(cel("timestamp(action.input.t) + duration('1h') > timestamp(action.input.t)", { t: '9990-01-01T00:00:00Z' })).toBe(true);
  });
});

describe('matches() with a pattern the agent sends', () => {
  it('charges compiling the pattern before it starts: a pattern whose program is huge denies within the budget', () => {
    // 'a{1000}' × 1000 is a million instructions: compiling it took about 13 s.
    const d = deny('action.input.name.matches(action.input.re)', { name: 'a', re: 'a{1000}'.repeat(1000) });
    expect(d).toMatchObject({ effect: 'deny', errors: [{ rule: 'r', message: 'policy evaluation exceeded its budget of 1000000 steps' }] });
  });

  it('still matches a small dynamic pattern', () => {
    expect(cel('action.input.name.matches(action.input.re)', { name: 'prod-db', re: '^prod-' })).toBe(true);
    expect(cel('action.input.name.matches(action.input.re)', { name: 'dev-db', re: '^prod-' })).toBe(false);
  });
});

describe('string ordering is by code point', () => {
  it.each([
    ["'\\uFFFF' < '\\U0001F600'", true],
    ["'\\U0001F600' > '\\uFFFF'", true],
    ["'\\uE000' <= '\\U00010000'", true],
    ["'a' < 'b'", true],
    ["'ab' < 'a'", false],
    ["'a' >= 'a'", true],
  ] as const)('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });

  it('an agent string beyond the BMP does not sort below a bound it exceeds', () => {
    // A rule denying names at or above U+E000 (the private use area): an emoji is above it.
    const d = deny("action.input.name >= '\\uE000'", { name: '\u{1F600}' });
    expect(d).toMatchObject({ effect: 'deny', rules: ['r'] });
  });
});

describe('trim() removes what CEL calls white space', () => {
  it.each([
    ["'\\u0085root'.trim() == 'root'", true],
    ["'\\u00A0root\\u3000'.trim() == 'root'", true],
    ["'\\uFEFFroot'.trim() == 'root'", false],
    ["' \\t root \\n'.trim() == 'root'", true],
    ["'   '.trim() == ''", true],
  ] as const)('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });

  it('a NEL before a name does not hide it from a deny rule', () => {
    expect(deny("action.input.user.trim() == 'root'", { user: '\u0085root' })).toMatchObject({ effect: 'deny', rules: ['r'] });
  });
});

describe('functions the library adds to CEL', () => {
  function refused(when: string): string[] {
    try {
      compilePolicy({ default: 'deny', defaultTtlSeconds: 60, rules: [{ id: 'r', when, effect: 'allow' }] });
      return [];
    } catch (e) {
      return ((e as { details?: { problems?: string[] } }).details?.problems ?? [String(e)]);
    }
  }

  it.each([
    'bytes(action.input.doc).json().admin == true',
    "bytes(action.input.s).hex() == '00'",
    "bytes(action.input.s).base64() == 'AA=='",
    'bytes(action.input.s).at(0) == 0',
    "bytes(action.input.s).string() == 'a'",
    'optional.of(action.input.a).hasValue()',
  ])('%s is refused at load (not CEL; json() builds values outside the bounds)', (when) => {
    expect(refused(when).join('\n')).toMatch(/not a function of CEL's standard definitions or strings extension/);
  });

  it.each([
    "action.input.l.all(x, x.startsWith('a')) && action.input.l.exists(x, x.contains('b'))",
    "action.input.l.exists_one(x, x == 'a') || action.input.l.map(x, x.trim()).filter(x, x != '').size() > 0",
    "has(action.input.a) && size(action.input.s.split(',')) > 1 && action.input.l.join(',').endsWith('z')",
    'context.time.getHours() > 8 && context.time.getDayOfWeek() < 6 && duration("1h") > duration("1m")',
    "action.input.s.lowerAscii().upperAscii().substring(1).indexOf('a') > action.input.s.lastIndexOf('b')",
    "type(action.input.a) == string && int(action.input.n) > 0 && double(action.input.n) > 0.0 && string(1) == '1'",
  ])('%s loads', (when) => {
    expect(refused(when)).toEqual([]);
  });
});
