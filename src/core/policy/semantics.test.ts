/**
 * The CEL semantics policy relies on, each as the CEL spec (and its
 * conformance suite, google/cel-spec tests/simple/testdata) gives it, through
 * the same path a decision takes: compile at load, evaluate bounded. An
 * upgrade of the CEL library that changes one of them fails here.
 */
import { describe, expect, it } from 'vitest';
import { CountersignError } from '../errors.ts';
import { compilePolicy, type PolicyVariables } from './compile.ts';
import { evaluatePolicy } from './evaluate.ts';

const vars: PolicyVariables = {
  principal: { id: 'bot', kind: 'agent', actsFor: null, groups: [], claims: { amr: ['pwd'], port: 443, ports: { '443': true } }, github: null },
  action: { connection: 'api', operation: 'http.request', input: { port: 443, ports: { '443': true }, name: 'a\rb', big: 9007199254740993 }, reason: '' },
  connection: { name: 'api', kind: 'http', tags: {} },
  facts: {},
  context: { time: new Date('2025-01-01T00:00:00Z'), request: {} },
};

/** true / false as the condition evaluates, or 'error' when it fails to (a failing rule denies). */
function cel(when: string): boolean | 'error' {
  const d = evaluatePolicy(compilePolicy({ default: 'deny', defaultTtlSeconds: 60, rules: [{ id: 'r', when, effect: 'allow' }] }), vars);
  if (d.errors.length) return 'error';
  return d.effect === 'allow';
}

/** The problems compilePolicy reports for a condition, or [] when it loads. */
function refused(when: string): string[] {
  try {
    compilePolicy({ default: 'deny', defaultTtlSeconds: 60, rules: [{ id: 'r', when, effect: 'allow' }] });
    return [];
  } catch (e) {
    if (!(e instanceof CountersignError)) throw e;
    return e.details['problems'] as string[];
  }
}

describe('in', () => {
  it.each([
    ['"a" in ["a", "b"]', true],
    ['1 in [1, 2]', true],
    ['dyn(1) in [1.0]', true],
    ['dyn(1.0) in [1]', true],
    // Not CEL's false: a scalar of another kind than the bool or number literals it is not found among (environment.ts).
    ['dyn("1") in [1]', 'error'],
    ['action.input.port in [443]', true],
    ['action.input.port in ["443"]', false],
    ['"443" in action.input.ports', true],
    ['443 in action.input.ports', false],
    ['action.input.port in action.input.ports', false],
    ['principal.claims.port in principal.claims.ports', false],
    ['dyn(443) in {"443": true}', false],
    ['"pwd" in principal.claims.amr', true],
    ['"otp" in principal.claims.amr', false],
  ])('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });

  it('looks a typed key up by its type: a number does not index a string key', () => {
    expect(cel('action.input.ports[443]')).toBe('error');
    expect(cel('action.input.ports["443"]')).toBe(true);
  });
});

describe('equality and ordering across int, uint and double', () => {
  it.each([
    ['dyn(1) == 1.0', true],
    ['action.input.port == 443', true],
    ['action.input.port == 443.0', true],
    ['action.input.port == 444', false],
    ['9223372036854775807 < 9223372036854775808.0', true],
    ['dyn(9223372036854775807) == 9223372036854775808.0', false],
    ['9223372036854775807 >= 9223372036854775808.0', false],
    ['9223372036854775808.0 > 9223372036854775807', true],
    ['dyn(9007199254740993) == 9007199254740992.0', false],
    ['9007199254740993 > 9007199254740992.0', true],
    ['-9223372036854775808 < -9223372036854775807.0', false],
    ['"a" == "a"', true],
    ['dyn("1") == dyn(1)', false],
    // Not CEL's false: against a bool or number literal, another scalar kind is an error (an upstream may convert it).
    ['dyn("1") == 1', 'error'],
    ['action.input.port != true', 'error'],
    ['dyn(null) == true', false],
    ['dyn([1]) == 1', false],
    ['dyn("1") in [0, 1]', 'error'],
    ['dyn(1) in [0, 1]', true],
    ['dyn(5) in [0, "x"]', false],
    ['dyn("x") in [0, "x"]', true],
  ])('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });
});

describe('overflow and range errors', () => {
  it.each([
    'int(9223372036854775807.0) > 0',
    'int(1e19) > 0',
    'int(-1e19) < 0',
    'int("9223372036854775808") > 0',
    '9223372036854775807 + 1 > 0',
    '-9223372036854775808 - 1 < 0',
    '-(-9223372036854775808) > 0',
    '-9223372036854775808 / -1 > 0',
    '-9223372036854775808 % -1 == 0',
    '-int("-9223372036854775808") > 0',
    'int(action.input.big * 2048.0) > 0',
    'int("") == 0',
    'int("0x10") == 16',
    'int("0b1") == 1',
    'double("0x10") == 16.0',
    'double("0b1") == 1.0',
    'double("1e400") > 0.0',
    'double("") == 0.0',
    'timestamp("2025-01-01T00:00:00") < context.time',
    'timestamp("Wed, 01 Jan 2025 00:00:00 GMT") < context.time',
    'timestamp("2025-02-30T00:00:00Z") < context.time',
    'timestamp("2025-01-01 00:00:00Z") < context.time',
    '"abc".substring(4) == ""',
    '"abc".substring(2, 1) == ""',
    '"😀".substring(0, 2) == "😀"',
    '"abc".indexOf("a", 4) == -1',
    '"abc".lastIndexOf("a", 3) == -1',
  ])('%s fails to evaluate', (when) => {
    expect(cel(when)).toBe('error');
  });

  it.each([
    ['int(1.9) == 1', true],
    ['int(-1.9) == -1', true],
    ['int("42") == 42', true],
    ['int(9223372036854774784.0) == 9223372036854774784', true],
    ['-9223372036854775808 < 0', true],
    ['double("1.5") == 1.5', true],
    ['double("-1e3") == -1000.0', true],
    ['double("inf") > 1e308', true],
    ['double(" 1") == 1.0', 'error'],
    ['timestamp("2025-01-01T01:00:00+01:00") == timestamp("2025-01-01T00:00:00Z")', true],
    ['timestamp("2024-12-31T23:59:59.999999999Z") < context.time', true],
    ['context.time == timestamp("2025-01-01T00:00:00Z")', true],
    ['int(timestamp("1970-01-01T00:01:00Z")) == 60', true],
    ['-9223372036854775807 - 1 == -9223372036854775808', true],
  ])('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });
});

describe('string functions', () => {
  it.each([
    ['"hello".contains("ell")', true],
    ['"hello".startsWith("he")', true],
    ['"hello".endsWith("lo")', true],
    ['size("héllo") == 5', true],
    ['size("😀") == 1', true],
    ['"😀a".size() == 2', true],
    ['"ÀÉÎ".lowerAscii() == "ÀÉÎ"', true],
    ['"àéî".upperAscii() == "àéî"', true],
    ['"MiXeD-Ä".lowerAscii() == "mixed-Ä"', true],
    ['"mixed-ä".upperAscii() == "MIXED-ä"', true],
    ['"İ".lowerAscii() == "İ"', true],
    ['"ß".upperAscii() == "ß"', true],
    ['"😀/admin".indexOf("/") == 1', true],
    ['"😀/admin".indexOf("a", 2) == 2', true],
    ['"a😀a".lastIndexOf("a") == 2', true],
    ['"a😀a".lastIndexOf("a", 1) == 0', true],
    ['"😀/admin".substring(1) == "/admin"', true],
    ['"😀/admin".substring(1, 3) == "/a"', true],
    ['"a😀b".split("") == ["a", "😀", "b"]', true],
    ['"a,b,c".split(",", 2) == ["a", "b,c"]', true],
    ['"hello".indexOf("") == 0', true],
  ])('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });
});

describe('matches (RE2)', () => {
  it.each([
    ['"hello".matches("ell")', true],
    ['"hello".matches("^ell")', false],
    ['"hello".matches("^h.*o$")', true],
    ['matches("hello", "l+")', true],
    ['"HELLO".matches("(?i)^hello$")', true],
    ['"HELLO".matches("^hello$")', false],
    ['"a\\nb".matches("^a.b$")', false],
    ['"a\\nb".matches("(?s)^a.b$")', true],
    ['action.input.name.matches("^a.b$")', true],
    ['"ab\\ncd".matches("^cd$")', false],
    ['"ab\\ncd".matches("(?m)^cd$")', true],
    ['"x".matches("\\\\pL")', true],
    ['[action.input.name].exists(p, p.matches("^a.b$"))', true],
    ['[action.input.name].all(p, !p.matches("^a.b$"))', false],
    ['["ÀB"].map(s, s.lowerAscii()) == ["Àb"]', true],
    ['cel.bind(p, action.input.name, p.matches("^a.b$"))', true],
  ])('%s is %s', (when, expected) => {
    expect(cel(when)).toBe(expected);
  });

  it('fails to evaluate a dynamic pattern RE2 refuses', () => {
    expect(cel('"aa".matches(action.input.name + "(a)\\\\1")')).toBe('error');
  });

  it.each(['"aa".matches("(a)\\\\1")', '"ab".matches("a(?=b)")', '"ab".matches("(?<=a)b")', 'matches("x", "[")'])(
    'refuses %s at load: not RE2',
    (when) => {
      expect(refused(when)).toEqual([expect.stringContaining('not an RE2 pattern')]);
    },
  );
});

describe('constructs refused at load', () => {
  it.each(['{1: true}[1]', '1 in {1: true}', 'action.input.port in {action.input.port: 1}'])('%s: map literal keys must be strings', (when) => {
    expect(refused(when)).toEqual(expect.arrayContaining([expect.stringContaining('map literal may only have string literals as keys')]));
  });

  it.each(['9223372036854775808 > 0', '0x8000000000000000 > 0', '-9223372036854775809 < 0'])('%s: an int literal outside int64', (when) => {
    expect(refused(when)).toEqual([expect.stringContaining('outside the int64 range')]);
  });

  it('keeps internal names out of reach', () => {
    expect(refused('__cs_probe()')).toEqual([expect.stringContaining('reserved')]);
    expect(refused('"a".__cs_matches("a")')).toEqual([expect.stringContaining('reserved')]);
  });

  it('refuses a comparison CEL types out (int against string, int against double)', () => {
    expect(refused('1 == "1"')).toEqual([expect.stringContaining('does not type-check')]);
    expect(refused('1 == 1.0')).toEqual([expect.stringContaining('does not type-check')]);
  });

  it.each(['dyn(1) == 1u', 'action.input.port in [1u, 2u]', 'uint(action.input.port) == 443u', 'int(uint(1)) == 1'])(
    '%s: uint is refused (its equality with int and double is not as CEL specifies)',
    (when) => {
      expect(refused(when)).toEqual(expect.arrayContaining([expect.stringContaining('uint')]));
    },
  );
});
