import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../action.ts';
import type { ConnectionInfo } from '../connection.ts';
import { makeFacts } from '../facts.ts';
import type { Principal } from '../principal.ts';
import { compilePolicy } from './compile.ts';
import type { Effect } from './decision.ts';
import { evaluatePolicy } from './evaluate.ts';
import { deniesAll } from './reach.ts';
import { policyVariables, toolFixedPaths } from './variables.ts';

const TOOL_FIXED_PATHS = toolFixedPaths({ id: 'bot', kind: 'agent', actsFor: null, groups: [], email: null });

const fs: ConnectionInfo = { name: 'fs', kind: 'mcp', tags: { env: 'prod' } };
const principal = (id: string): Principal => ({ id, kind: 'agent', actsFor: null, groups: ['ci'], email: null });

/** The variables of one call of `tool` with these arguments, reason and client. */
function vars(who: string, tool: string, readOnly: boolean, args: Record<string, unknown>, reason: string, surface: string) {
  const input = { tool, arguments: args };
  const annotations = { readOnlyHint: readOnly, destructiveHint: !readOnly, idempotentHint: false, openWorldHint: true };
  const facts = makeFacts('mcp', { writes: !readOnly, mcp: { tool, annotations, arguments: args, toolChanged: false, definitionHash: 'sha256:x' } });
  const action: Action = { connection: 'fs', operation: 'tools/call', input, reason };
  return policyVariables(principal(who), action, fs, facts, { time: new Date('2026-11-22T10:00:00Z'), request: { surface } });
}

const policy = (rules: [string, Effect][], fallback: Effect = 'deny') =>
  compilePolicy({ default: fallback, defaultTtlSeconds: 60, rules: rules.map(([when, effect], i) => ({ id: `r${i}`, when, effect })) });

describe('deniesAll', () => {
  const read = vars('bot', 'read_file', true, {}, '', 'mcp');
  const write = vars('bot', 'write_file', false, {}, '', 'mcp');

  it('is true when a rule that reads only fixed values denies', () => {
    const p = policy([['facts.mcp.tool == "write_file"', 'deny'], ['true', 'allow']], 'allow');
    expect(deniesAll(p, write, TOOL_FIXED_PATHS)).toBe(true);
    expect(deniesAll(p, read, TOOL_FIXED_PATHS)).toBe(false);
  });

  it('is true when the default denies and no allow or approve rule can match; a deny rule on the arguments opens nothing', () => {
    const p = policy([
      ['facts.mcp.annotations.readOnlyHint', 'allow'],
      ['facts.mcp.arguments.path.endsWith(".pem")', 'deny'],
    ]);
    expect(deniesAll(p, write, TOOL_FIXED_PATHS)).toBe(true);
    expect(deniesAll(p, read, TOOL_FIXED_PATHS)).toBe(false);
  });

  it('is false when a rule that might let a call through reads the arguments, the reason or the context', () => {
    for (const when of ['facts.mcp.arguments.size() == 0', 'action.reason.startsWith("ticket")', 'context.request.surface == "mcp"', 'has(facts.mcp.arguments.dryrun)', 'facts[principal.id] == 1']) {
      expect(deniesAll(policy([[when, 'approve']]), write, TOOL_FIXED_PATHS)).toBe(false);
    }
  });

  it("takes a token's claims and groups as varying: the principal's next token may carry others", () => {
    const p = policy([['!("mfa" in principal.claims.amr)', 'deny']], 'allow');
    const fromToken: Principal = { id: 'gh-bot', kind: 'agent', actsFor: null, groups: [], email: null, issuer: 'https://token.actions.githubusercontent.com', claims: { amr: ['pwd'] } };
    const input = { tool: 'write_file', arguments: {} };
    const facts = makeFacts('mcp', { writes: true, mcp: { tool: 'write_file', annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true }, arguments: {}, toolChanged: false, definitionHash: 'sha256:x' } });
    const v = policyVariables(fromToken, { connection: 'fs', operation: 'tools/call', input, reason: '' }, fs, facts, { time: new Date(), request: {} });
    expect(evaluatePolicy(p, v).effect).toBe('deny'); // this token is refused…
    expect(deniesAll(p, v, toolFixedPaths(fromToken))).toBe(false); // …but one with mfa would not be
    expect(deniesAll(p, v, toolFixedPaths({ ...fromToken, issuer: undefined }))).toBe(true); // a configured principal has no other claims
  });

  it('is true when a fixed rule fails to evaluate, as every call would fail it', () => {
    expect(deniesAll(policy([['principal.claims.repo == "x"', 'allow']], 'allow'), write, TOOL_FIXED_PATHS)).toBe(true);
  });

  it('never says a tool is denied outright when some call of it is not (random policies, arguments, reasons, clients)', () => {
    const conditions = [
      'true',
      'facts.mcp.tool == "write_file"',
      'facts.mcp.annotations.readOnlyHint',
      'principal.id == "bot"',
      'connection.tags.env == "prod"',
      'facts.mcp.arguments.n > 2',
      'has(facts.mcp.arguments.flag)',
      'facts.mcp.arguments.n > 2 || facts.mcp.tool == "read_file"',
      'action.reason.size() > 3',
      'context.request.surface == "mcp"',
      'principal.claims.repo == "x"',
      '!facts.writes && principal.groups.exists(g, g == "ci")',
    ];
    const rule = fc.tuple(fc.constantFrom(...conditions), fc.constantFrom<Effect>('allow', 'approve', 'deny'));
    const call = fc.record({
      args: fc.record({ n: fc.integer({ min: 0, max: 5 }), flag: fc.boolean() }, { requiredKeys: [] }),
      reason: fc.string({ maxLength: 6 }),
      surface: fc.constantFrom('mcp', 'http'),
    });
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 5 }),
        fc.constantFrom<Effect>('allow', 'approve', 'deny'),
        fc.constantFrom('bot', 'other'),
        fc.constantFrom(['read_file', true] as const, ['write_file', false] as const),
        fc.array(call, { minLength: 1, maxLength: 8 }),
        (rules, fallback, who, [tool, readOnly], calls) => {
          const p = policy(rules, fallback);
          if (!deniesAll(p, vars(who, tool, readOnly, {}, '', 'mcp'), TOOL_FIXED_PATHS)) return;
          for (const c of calls) expect(evaluatePolicy(p, vars(who, tool, readOnly, c.args, c.reason, c.surface)).effect).toBe('deny');
        },
      ),
      { numRuns: 500 },
    );
  });
});
