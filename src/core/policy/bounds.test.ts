import { describe, expect, it } from 'vitest';
import { ALL, DEFAULT_EVALUATION_LIMITS, Meter, readTree } from './bounds.ts';
import { compilePolicy, type PolicyVariables } from './compile.ts';
import { evaluatePolicy } from './evaluate.ts';
import type { RuleSpec } from './spec.ts';

function withInput(input: unknown): PolicyVariables {
  return {
    principal: { id: 'bot', kind: 'agent', actsFor: null, groups: [], claims: {}, github: null },
    action: { connection: 'files', operation: 'tools/call', input, reason: '' },
    connection: { name: 'files', kind: 'mcp', tags: {} },
    facts: {},
    context: { time: new Date(0), request: {} },
  };
}

const policy = (rules: RuleSpec[]) => compilePolicy({ default: 'allow', defaultTtlSeconds: 60, rules });

describe('evaluation bounds', () => {
  it('decides a catastrophic-backtracking pattern on an agent string (RE2 is linear): no match, no stall', () => {
    const p = policy([{ id: 'slug', when: "has(action.input.slug) && !action.input.slug.matches('^([a-z0-9]+-?)+$')", effect: 'deny' }]);
    const d = evaluatePolicy(p, withInput({ slug: `${'a'.repeat(31)}!` }));
    expect(d).toMatchObject({ effect: 'deny', rules: ['slug'], errors: [] });
    expect(evaluatePolicy(p, withInput({ slug: 'abc-def' }))).toMatchObject({ effect: 'allow', errors: [] });
  });

  it('refuses, before running it, a match whose program times input would exceed the budget', () => {
    const p = policy([{ id: 'wide', when: 'action.input.text.matches("[^a]{1000}")', effect: 'allow' }]);
    const unbounded = { ...DEFAULT_EVALUATION_LIMITS, timeoutMs: Number.POSITIVE_INFINITY };
    expect(evaluatePolicy(p, withInput({ text: 'b'.repeat(100_000) }), unbounded)).toMatchObject({
      effect: 'deny',
      errors: [{ rule: 'wide', message: 'policy evaluation exceeded its budget of 1000000 steps' }],
    });
    expect(evaluatePolicy(p, withInput({ text: 'b'.repeat(1_000) }), unbounded)).toMatchObject({ effect: 'allow', errors: [] });
  });

  it('denies, naming the bound, when nested comprehensions over an agent list exceed the step budget', () => {
    const p = policy([
      {
        id: 'pairs',
        when: 'has(action.input.items) && action.input.items.all(a, action.input.items.all(b, action.input.items.all(c, a != "" || b != c)))',
        effect: 'allow',
      },
    ]);
    const items = Array.from({ length: 1000 }, (_, i) => `x${i}`);
    // Without a deadline, so that the step budget is what stops it, whatever the machine's speed.
    const d = evaluatePolicy(p, withInput({ items }), { ...DEFAULT_EVALUATION_LIMITS, timeoutMs: Number.POSITIVE_INFINITY });
    expect(d.effect).toBe('deny');
    expect(d.errors).toEqual([{ rule: 'pairs', message: 'policy evaluation exceeded its budget of 1000000 steps' }]);
    expect(d.message).toBe('rule pairs could not be evaluated: policy evaluation exceeded its budget of 1000000 steps');
    // With the default limits, one of the two bounds stops it.
    expect(evaluatePolicy(p, withInput({ items }))).toMatchObject({ effect: 'deny', errors: [{ rule: 'pairs', message: expect.stringMatching(/^policy evaluation exceeded its (budget of 1000000 steps|time limit)$/) }] });
    // The same rule over a small list decides.
    expect(evaluatePolicy(p, withInput({ items: ['a', 'b'] }))).toMatchObject({ effect: 'allow', errors: [] });
  });

  it('denies on the deadline even within the step budget', () => {
    const p = policy([{ id: 'slow', when: 'action.input.items.all(a, action.input.items.all(b, a != "" || b != ""))', effect: 'allow' }]);
    const d = evaluatePolicy(p, withInput({ items: Array.from({ length: 300 }, (_, i) => `x${i}`) }), {
      ...DEFAULT_EVALUATION_LIMITS,
      maxSteps: Number.POSITIVE_INFINITY,
      timeoutMs: 0,
    });
    expect(d).toMatchObject({ effect: 'deny', errors: [{ rule: 'slow', message: 'policy evaluation exceeded its time limit' }] });
  });

  it('times the evaluation by its CPU: a process not run for a while (a loaded host, a GC pause) is not over its limit', () => {
    let wall = 0;
    let cpu = 0;
    const meter = new Meter({ maxSteps: Number.POSITIVE_INFINITY, timeoutMs: 250 }, () => wall, () => cpu);
    for (let i = 0; i < 64; i++) meter.tick();
    // The wall clock jumps a second while the process used no CPU: not exceeded.
    wall += 1000;
    for (let i = 0; i < 64; i++) meter.tick();
    expect(meter.exceeded).toBeNull();
    // The evaluation itself then spends its 250 ms of CPU: exceeded.
    cpu += 251;
    expect(() => {
      for (let i = 0; i < 64; i++) meter.tick();
    }).toThrow('policy evaluation exceeded its time limit');
    expect(meter.exceeded).not.toBeNull();
  });

  it('reads the CPU clock only once an evaluation has run 32 steps', () => {
    let reads = 0;
    const meter = new Meter({ maxSteps: Number.POSITIVE_INFINITY, timeoutMs: 250 }, () => 0, () => {
      reads++;
      return 0;
    });
    for (let i = 0; i < 31; i++) meter.tick();
    expect(reads).toBe(0);
    meter.tick();
    expect(reads).toBe(1);
  });

  it('counts the wall time before its first CPU reading as the evaluation\'s CPU: the limit trips earlier, never later', () => {
    let wall = 0;
    let cpu = 1000;
    const meter = new Meter({ maxSteps: Number.POSITIVE_INFINITY, timeoutMs: 250 }, () => wall, () => cpu);
    for (let i = 0; i < 31; i++) meter.tick();
    // 10 ms of wall time before the first reading: the evaluating thread used at most that much CPU in them.
    wall += 10;
    cpu += 10;
    meter.tick();
    wall += 300;
    // 10 + 235 ms counted: under the limit.
    cpu += 235;
    for (let i = 0; i < 64; i++) meter.tick();
    expect(meter.exceeded).toBeNull();
    // 10 + 245 ms: over it.
    cpu += 10;
    expect(() => {
      for (let i = 0; i < 64; i++) meter.tick();
    }).toThrow('policy evaluation exceeded its time limit');
  });

  it('does not trip on CPU the process spent while the wall clock stayed within the limit', () => {
    let wall = 0;
    let cpu = 0;
    const meter = new Meter({ maxSteps: Number.POSITIVE_INFINITY, timeoutMs: 250 }, () => wall, () => cpu);
    cpu += 1000; // other threads of the process (garbage collection, the thread pool) in the same 100 ms
    wall += 100;
    for (let i = 0; i < 64; i++) meter.tick();
    expect(meter.exceeded).toBeNull();
  });

  it('does not let an exceeded bound be absorbed by || into an allow', () => {
    const p = policy([
      { id: 'absorb', when: 'action.input.items.exists(a, action.input.items.exists(b, action.input.items.exists(c, c == "never"))) || true', effect: 'allow' },
    ]);
    const d = evaluatePolicy(p, withInput({ items: Array.from({ length: 1000 }, (_, i) => `x${i}`) }), { ...DEFAULT_EVALUATION_LIMITS, timeoutMs: Number.POSITIVE_INFINITY });
    expect(d).toMatchObject({ effect: 'deny', errors: [{ rule: 'absorb', message: 'policy evaluation exceeded its budget of 1000000 steps' }] });
  });

  it('holds a variable no condition names to the same bounds as one that is read', () => {
    // Only `principal` is read: the others are counted, not converted, and refused alike.
    const p = policy([{ id: 'bot', when: 'principal.id == "bot" && principal.groups.size() == 0', effect: 'deny' }]);
    expect(evaluatePolicy(p, withInput({ a: 1 }))).toMatchObject({ effect: 'deny', rules: ['bot'], errors: [] });
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(evaluatePolicy(p, withInput(deep)).errors).toEqual([{ rule: 'bot', message: 'the action is too large for policy evaluation: nested deeper than 64 levels' }]);
    expect(evaluatePolicy(p, withInput({ wide: Array.from({ length: 200_000 }, () => 1) })).errors).toEqual([
      { rule: 'bot', message: 'the action is too large for policy evaluation: more than 100000 values' },
    ]);
    expect(evaluatePolicy(p, withInput({ text: 'x'.repeat(9 * 1024 * 1024) })).errors).toEqual([
      { rule: 'bot', message: `the action is too large for policy evaluation: more than ${8 * 1024 * 1024} characters of text` },
    ]);
  });

  it('reads all of a value a path stops at, whatever longer paths go through it', () => {
    const tree = readTree([['facts', 'http', 'method'], ['principal'], ['principal', 'id'], ['facts', 'http', 'query'], ['facts', 'kind']]);
    expect(tree).toEqual(new Map<string, unknown>([
      ['facts', new Map<string, unknown>([['http', new Map([['method', ALL], ['query', ALL]])], ['kind', ALL]])],
      ['principal', ALL],
    ]));
    expect(readTree([['facts', 'http', 'method'], ['facts']])).toEqual(new Map([['facts', ALL]]));
  });

  it('decides on what a condition reads, while a section it does not read is held to the bounds all the same', () => {
    const p = policy([
      { id: 'get', when: 'facts.http.method == "GET" && !has(facts.http.query.force)', effect: 'allow' },
      { id: 'query', when: '"force" in facts.http.query', effect: 'deny' },
    ]);
    const http = (query: Record<string, string[]>) => ({ kind: 'http', writes: false, http: { method: 'GET', path: '/x', query }, sql: { statements: [] } });
    const vars = (facts: unknown) => ({ ...withInput({}), facts });
    expect(evaluatePolicy(p, vars(http({})))).toMatchObject({ effect: 'allow', rules: ['get'], errors: [] });
    expect(evaluatePolicy(p, vars(http({ force: ['1'] })))).toMatchObject({ effect: 'deny', rules: ['query'], errors: [] });
    // facts.sql is read by no condition: not converted, but counted.
    const wide = { ...http({}), sql: { statements: Array.from({ length: 200_000 }, () => 'select 1') } };
    expect(evaluatePolicy(p, vars(wide)).errors).toEqual([
      { rule: 'get', message: 'the action is too large for policy evaluation: more than 100000 values' },
      { rule: 'query', message: 'the action is too large for policy evaluation: more than 100000 values' },
    ]);
  });

  it('denies an action too large or too deep to evaluate, saying so, before any rule runs', () => {
    const p = policy([{ id: 'any', when: 'action.reason == ""', effect: 'allow' }]);
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(evaluatePolicy(p, withInput(deep))).toMatchObject({
      effect: 'deny',
      errors: [{ rule: 'any', message: 'the action is too large for policy evaluation: nested deeper than 64 levels' }],
    });
    const wide = Array.from({ length: 200_000 }, () => 1);
    expect(evaluatePolicy(p, withInput({ wide })).errors).toEqual([
      { rule: 'any', message: 'the action is too large for policy evaluation: more than 100000 values' },
    ]);
  });
});
