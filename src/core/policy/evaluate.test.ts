import { describe, expect, it } from 'vitest';
import type { Action } from '../action.ts';
import type { ConnectionInfo } from '../connection.ts';
import { CountersignError } from '../errors.ts';
import { makeFacts, type Facts, type SqlFacts } from '../facts.ts';
import type { Principal } from '../principal.ts';
import { compilePolicy } from './compile.ts';
import type { Decision } from './decision.ts';
import { evaluatePolicy } from './evaluate.ts';
import type { PolicySpec, RuleSpec } from './spec.ts';
import { policyVariables } from './variables.ts';

const bot: Principal = { id: 'deploy-bot', kind: 'agent', actsFor: 'alice', groups: [], email: null };
const ops: Principal = { id: 'olga', kind: 'human', actsFor: null, groups: ['sre', 'dba'], email: 'olga@example.test' };
const ordersDb: ConnectionInfo = { name: 'orders-db', kind: 'postgres', tags: { env: 'prod', data: 'pii' } };
const stagingDb: ConnectionInfo = { name: 'staging-db', kind: 'postgres', tags: { env: 'staging' } };
const billingApi: ConnectionInfo = { name: 'billing-api', kind: 'http', tags: { env: 'prod' } };

function sqlFacts(type: string, readOnly: boolean): SqlFacts {
  return {
    statements: [{ type, tables: ['orders'], hasWhere: type === 'select' ? null : true }],
    tables: ['orders'],
    readOnly,
    writes: !readOnly,
    ddl: type === 'drop',
    privilege: false,
    unboundedWrite: false,
    functions: [],
  };
}

const SELECT = makeFacts('postgres', { writes: false, sql: sqlFacts('select', true) });
const UPDATE = makeFacts('postgres', { writes: true, sql: sqlFacts('update', false) });
const DROP = makeFacts('postgres', { writes: true, sql: sqlFacts('drop', false) });
const HTTP_POST = makeFacts('http', { writes: true, http: { method: 'POST', path: '/refunds', query: {} } });

interface Case {
  principal?: Principal;
  connection?: ConnectionInfo;
  facts?: Facts;
  time?: Date;
}

function vars(c: Case = {}) {
  const connection = c.connection ?? ordersDb;
  const action: Action = {
    connection: connection.name,
    operation: connection.kind === 'http' ? 'http.request' : 'sql.query',
    input: connection.kind === 'http' ? { method: 'POST', path: '/refunds' } : { sql: 'SELECT 1' },
    reason: 'testing',
  };
  return policyVariables(c.principal ?? bot, action, connection, c.facts ?? SELECT, {
    time: c.time ?? new Date('2025-06-02T10:00:00Z'),
    request: { surface: 'rest' },
  });
}

function policy(rules: RuleSpec[], rest: Partial<PolicySpec> = {}): PolicySpec {
  return { default: 'deny', defaultTtlSeconds: 3600, rules, ...rest };
}

function decide(spec: PolicySpec, c: Case = {}): Decision {
  return evaluatePolicy(compilePolicy(spec), vars(c));
}

function compileError(spec: PolicySpec): CountersignError {
  try {
    compilePolicy(spec);
  } catch (e) {
    if (e instanceof CountersignError) return e;
    throw e;
  }
  throw new Error('expected the policy not to compile');
}

const allow: RuleSpec = { id: 'allow-all', when: 'true', effect: 'allow' };
const approve: RuleSpec = { id: 'approve-all', when: 'true', effect: 'approve', approvers: [{ groups: ['sre'] }] };
const deny: RuleSpec = { id: 'deny-all', when: 'true', effect: 'deny', message: 'not today' };

describe('evaluatePolicy: which effect wins', () => {
  const orders: RuleSpec[][] = [
    [allow, approve, deny],
    [deny, approve, allow],
    [approve, deny, allow],
    [allow, deny, approve],
  ];

  it.each(orders)('deny beats approve beats allow whatever the rule order (%#)', (...rules) => {
    const d = decide(policy(rules));
    expect(d.effect).toBe('deny');
    expect(d.message).toBe('not today');
    expect(d.approvers).toEqual([]);
    expect(d.ttlSeconds).toBeNull();
    expect([...d.rules].sort()).toEqual(['allow-all', 'approve-all', 'deny-all']);
  });

  it('approve beats allow in either order', () => {
    expect(decide(policy([allow, approve])).effect).toBe('approve');
    expect(decide(policy([approve, allow])).effect).toBe('approve');
  });

  it('lists the matching rules in policy order and ignores those that do not match', () => {
    const d = decide(policy([{ id: 'no', when: 'false', effect: 'deny' }, allow, { id: 'reads', when: 'facts.sql.readOnly', effect: 'allow' }]));
    expect(d).toMatchObject({ effect: 'allow', rules: ['allow-all', 'reads'], approvers: [], errors: [] });
  });

  it('accumulates the approver requirements of every matching approve rule', () => {
    const d = decide(
      policy([
        { id: 'prod', when: 'connection.tags.env == "prod"', effect: 'approve', approvers: [{ groups: ['sre'], count: 2 }] },
        { id: 'pii', when: 'connection.tags.data == "pii"', effect: 'approve', approvers: [{ groups: ['privacy'] }, { principals: ['dpo'] }] },
        { id: 'other', when: 'false', effect: 'approve', approvers: [{ groups: ['nobody'] }] },
      ]),
    );
    expect(d.effect).toBe('approve');
    expect(d.approvers).toEqual([
      { rule: 'prod', groups: ['sre'], principals: [], count: 2 },
      { rule: 'pii', groups: ['privacy'], principals: [], count: 1 },
      { rule: 'pii', groups: [], principals: ['dpo'], count: 1 },
    ]);
  });

  it('holds for the shortest ttl of the matching approve rules, else the default ttl', () => {
    const a: RuleSpec = { id: 'a', when: 'true', effect: 'approve', ttlSeconds: 900 };
    const b: RuleSpec = { id: 'b', when: 'true', effect: 'approve', ttlSeconds: 300 };
    const c: RuleSpec = { id: 'c', when: 'true', effect: 'approve' };
    expect(decide(policy([a, b, c])).ttlSeconds).toBe(300);
    expect(decide(policy([c, a])).ttlSeconds).toBe(900);
    expect(decide(policy([c], { defaultTtlSeconds: 120 })).ttlSeconds).toBe(120);
    expect(decide(policy([c, { ...a, ttlSeconds: 7200 }], { defaultTtlSeconds: 120 })).ttlSeconds).toBe(120);
  });

  it('falls back to the default when nothing matches, with no rules listed', () => {
    const none: RuleSpec[] = [{ id: 'never', when: 'false', effect: 'allow' }];
    expect(decide(policy(none))).toMatchObject({
      effect: 'deny',
      rules: [],
      message: 'no policy rule matched; the default is deny',
      approvers: [],
      ttlSeconds: null,
      errors: [],
    });
    expect(decide(policy(none, { default: 'allow' }))).toMatchObject({ effect: 'allow', rules: [], message: null });
    expect(decide(policy([], { default: 'approve', defaultTtlSeconds: 60 }))).toMatchObject({
      effect: 'approve',
      rules: [],
      ttlSeconds: 60,
      approvers: [{ rule: '(default)', groups: [], principals: [], count: 1 }],
    });
  });
});

describe('evaluatePolicy: fails closed', () => {
  it('denies when a rule throws, naming it, even though another rule allows', () => {
    const d = decide(policy([allow, { id: 'typo', when: 'action.input.nope.x', effect: 'allow' }]));
    expect(d.effect).toBe('deny');
    expect(d.errors).toHaveLength(1);
    expect(d.errors[0]?.rule).toBe('typo');
    expect(d.message).toContain('typo');
  });

  it('denies when a rule yields something other than a bool', () => {
    const d = decide(policy([{ id: 'sum', when: 'dyn(1 + 1)', effect: 'allow' }, allow]));
    expect(d.effect).toBe('deny');
    expect(d.errors).toEqual([{ rule: 'sum', message: expect.stringContaining('not bool') }]);
  });

  it('denies an approve rule that errors instead of holding it', () => {
    const d = decide(policy([{ id: 'bad-approve', when: 'principal.claims.nope == "x"', effect: 'approve' }]));
    expect(d).toMatchObject({ effect: 'deny', approvers: [], ttlSeconds: null });
    expect(d.errors.map((e) => e.rule)).toEqual(['bad-approve']);
  });
});

describe('compilePolicy', () => {
  it('refuses a rule that does not compile, naming its id and index', () => {
    const e = compileError(policy([allow, { id: 'broken', when: 'facts.sql.(', effect: 'deny' }]));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('broken');
    expect(e.message).toContain('rules[1]');
  });

  it('refuses two rules with the same id', () => {
    const e = compileError(policy([allow, { ...deny, id: 'allow-all' }]));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toMatch(/rules\[1\].*allow-all.*duplicate/);
  });

  it('hashes the policy stably, and differently once a rule changes', () => {
    const spec = policy([allow, approve]);
    const same = compilePolicy(JSON.parse(JSON.stringify(spec)) as PolicySpec);
    expect(compilePolicy(spec).hash).toBe(same.hash);
    expect(same.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(compilePolicy(policy([allow, { ...approve, when: 'false' }])).hash).not.toBe(same.hash);
    expect(compilePolicy(policy([allow, { ...approve, ttlSeconds: 5 }])).hash).not.toBe(same.hash);
    expect(decide(spec).policyHash).toBe(same.hash);
  });
});

describe('rules as people write them', () => {
  function matches(when: string, c: Case = {}): boolean {
    const decision = decide(policy([{ id: 'r', when, effect: 'allow' }]), c);
    expect(decision.errors).toEqual([]);
    return decision.effect === 'allow';
  }

  it('reads on orders-db: action.connection == "orders-db" && facts.sql.readOnly', () => {
    const rule = 'action.connection == "orders-db" && facts.sql.readOnly';
    expect(matches(rule, { facts: SELECT })).toBe(true);
    expect(matches(rule, { facts: UPDATE })).toBe(false);
    expect(matches(rule, { connection: stagingDb, facts: SELECT })).toBe(false);
  });

  it('writes to prod: connection.tags.env == "prod" && facts.writes', () => {
    const rule = 'connection.tags.env == "prod" && facts.writes';
    expect(matches(rule, { facts: UPDATE })).toBe(true);
    expect(matches(rule, { facts: HTTP_POST, connection: billingApi })).toBe(true);
    expect(matches(rule, { facts: SELECT })).toBe(false);
    expect(matches(rule, { connection: stagingDb, facts: UPDATE })).toBe(false);
  });

  it('drops: facts.sql.statements.exists(...) matches a DROP and evaluates without error on an HTTP action', () => {
    const rule = 'facts.sql.statements.exists(s, s.type == "drop")';
    expect(matches(rule, { facts: DROP })).toBe(true);
    expect(matches(rule, { facts: UPDATE })).toBe(false);
    expect(matches(rule, { facts: HTTP_POST, connection: billingApi })).toBe(false);
  });

  it('who: principal.actsFor and group membership', () => {
    expect(matches('principal.actsFor == "alice"')).toBe(true);
    expect(matches('principal.actsFor == "alice"', { principal: { ...bot, actsFor: 'bob' } })).toBe(false);
    expect(matches('"sre" in principal.groups', { principal: ops })).toBe(true);
    expect(matches('"sre" in principal.groups')).toBe(false);
  });

  it('when: context.time compared with timestamp()', () => {
    const rule = 'context.time >= timestamp("2025-06-02T09:00:00Z") && context.time < timestamp("2025-06-02T17:00:00Z")';
    expect(matches(rule, { time: new Date('2025-06-02T10:00:00Z') })).toBe(true);
    expect(matches(rule, { time: new Date('2025-06-02T08:59:59Z') })).toBe(false);
    expect(matches(rule, { time: new Date('2025-06-02T17:00:00Z') })).toBe(false);
  });
});

describe('evaluatePolicy: escalation ladders and break-glass groups', () => {
  const dba: RuleSpec = { id: 'dba', when: 'true', effect: 'approve', approvers: [{ groups: ['dba'] }], escalate: [{ afterSeconds: 1800, groups: ['managers'], principals: [] }], breakGlass: { groups: ['oncall'] } };
  const sre: RuleSpec = { id: 'sre', when: 'true', effect: 'approve', approvers: [{ groups: ['sre'] }], escalate: [{ afterSeconds: 900, groups: ['oncall'], principals: ['olga'] }], breakGlass: { groups: ['incident', 'oncall'] } };

  it('accumulate over every matching approve rule, rungs by delay, each named by its rule', () => {
    const d = decide(policy([dba, sre]));
    expect(d.escalations).toEqual([
      { key: 'sre#1', rule: 'sre', afterSeconds: 900, groups: ['oncall'], principals: ['olga'] },
      { key: 'dba#1', rule: 'dba', afterSeconds: 1800, groups: ['managers'], principals: [] },
    ]);
    // Break-glass only where every matching approve rule allows it: the groups they all name.
    expect(d.breakGlass).toEqual(['oncall']);
  });

  it('allow no break-glass when one matching approve rule names none (a stricter rule is not bypassed by a looser one)', () => {
    const strict: RuleSpec = { id: 'strict', when: 'true', effect: 'approve', approvers: [{ groups: ['security'] }] };
    expect(decide(policy([sre, strict])).breakGlass).toBeUndefined();
    expect(decide(policy([strict, sre])).breakGlass).toBeUndefined();
    const incidentOnly: RuleSpec = { ...strict, id: 'incident-only', breakGlass: { groups: ['incident'] } };
    expect(decide(policy([dba, incidentOnly])).breakGlass).toBeUndefined();
  });

  it('are dropped when a deny wins, and absent when no rule names them', () => {
    const denied = decide(policy([dba, deny]));
    expect([denied.effect, denied.escalations, denied.breakGlass]).toEqual(['deny', undefined, undefined]);
    const plain = decide(policy([approve]));
    expect([plain.effect, plain.escalations, plain.breakGlass]).toEqual(['approve', undefined, undefined]);
  });
});

describe('evaluatePolicy: undo: false', () => {
  const bulk: RuleSpec = { id: 'bulk', when: 'true', effect: 'approve', approvers: [{ groups: ['dba'] }], undo: false };
  const archive: RuleSpec = { id: 'archive', when: 'true', effect: 'approve', approvers: [{ groups: ['sre'] }], undo: false };
  const keeps: RuleSpec = { id: 'keeps', when: 'true', effect: 'approve', approvers: [{ groups: ['sre'] }] };
  const fastAllow: RuleSpec = { id: 'fast', when: 'true', effect: 'allow', undo: false };

  it('lets the action run without an undo only when every matching rule of the deciding effect says so, and names them', () => {
    expect(decide(policy([bulk])).noUndo).toEqual(['bulk']);
    expect(decide(policy([bulk, archive])).noUndo).toEqual(['bulk', 'archive']);
    expect(decide(policy([fastAllow])).noUndo).toEqual(['fast']);
  });

  it('keeps the undo when one matching rule of the deciding effect does not say undo: false (restrictive wins)', () => {
    expect(decide(policy([bulk, keeps])).noUndo).toBeUndefined();
    expect(decide(policy([keeps, bulk])).noUndo).toBeUndefined();
    // An allow rule's undo: false says nothing about an action an approve rule holds.
    const held = decide(policy([fastAllow, keeps]));
    expect([held.effect, held.noUndo]).toEqual(['approve', undefined]);
    const plainAllow: RuleSpec = { id: 'plain', when: 'true', effect: 'allow' };
    expect(decide(policy([fastAllow, plainAllow])).noUndo).toBeUndefined();
  });

  it('is dropped when a deny wins, and absent when the default decides', () => {
    expect(decide(policy([bulk, deny])).noUndo).toBeUndefined();
    expect(decide(policy([])).noUndo).toBeUndefined();
  });
});

describe('step-up', () => {
  const plain: RuleSpec = { id: 'plain', when: 'true', effect: 'approve', approvers: [{ groups: ['sre'] }] };
  const risky: RuleSpec = { ...plain, id: 'risky', stepUp: 'webauthn' };
  const decideAll = (rules: RuleSpec[]) => decide(policy(rules));
  it('binds every approval when any holding rule asks for it, in any order', () => {
    expect(decideAll([plain, risky]).stepUp).toBe('webauthn');
    expect(decideAll([risky, plain]).stepUp).toBe('webauthn');
    expect(decideAll([plain]).stepUp).toBeUndefined();
    expect(decideAll([risky, deny]).stepUp).toBeUndefined();
  });
});

describe('evaluatePolicy: scoped-grant terms', () => {
  const wide: RuleSpec = { id: 'wide', when: 'true', effect: 'approve', grant: { maxUses: 10, maxDurationSeconds: 3600, vary: ['params', 'body.amount'] } };
  const narrow: RuleSpec = { id: 'narrow', when: 'true', effect: 'approve', grant: { maxUses: 3, maxDurationSeconds: 7200, vary: ['params'] } };

  it('intersect over every matching approve rule: the fewest uses, the shortest time, the paths all name', () => {
    expect(decide(policy([wide, narrow])).grant).toEqual({ maxUses: 3, maxDurationSeconds: 3600, vary: ['params'] });
  });

  it('permit none when one matching approve rule carries none, a deny wins, or the default holds it', () => {
    const plain: RuleSpec = { id: 'plain', when: 'true', effect: 'approve' };
    expect(decide(policy([wide, plain])).grant).toBeUndefined();
    expect(decide(policy([plain, wide])).grant).toBeUndefined();
    expect(decide(policy([wide, deny])).grant).toBeUndefined();
    expect(decide(policy([], { default: 'approve' })).grant).toBeUndefined();
  });
});
