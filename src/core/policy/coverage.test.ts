import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPERATION_BY_KIND, type Action } from '../action.ts';
import type { ConnectionInfo } from '../connection.ts';
import { makeFacts, type Facts } from '../facts.ts';
import type { Principal } from '../principal.ts';
import { connectionRisks } from '../review-brief.ts';
import { compilePolicy } from './compile.ts';
import { coverageCell, coverageMap } from './coverage.ts';
import { isProdConnection, operationClasses, type CoverageConnection, type OperationClass } from './coverage-classes.ts';
import { groupSubject, issuerSubject, principalSubject, type CoverageSubject } from './coverage-subjects.ts';
import type { Effect } from './decision.ts';
import { evaluatePolicy } from './evaluate.ts';
import type { RuleSpec } from './spec.ts';
import { policyVariables } from './variables.ts';

const db: CoverageConnection = { info: { name: 'db', kind: 'postgres', tags: { env: 'prod' } } };
const stagingDb: CoverageConnection = { info: { name: 'staging-db', kind: 'postgres', tags: { env: 'staging' } } };
const api: CoverageConnection = { info: { name: 'api', kind: 'http', tags: { env: ['eu', 'Production'] } } };
const fs: CoverageConnection = { info: { name: 'fs', kind: 'mcp', tags: { env: 'PROD' } } };
const kubectl: CoverageConnection = { info: { name: 'kube', kind: 'exec', tags: { env: 'prod' } }, command: 'kubectl' };
const CONNECTIONS = [db, stagingDb, api, fs, kubectl];

const bot: Principal = { id: 'bot', kind: 'agent', actsFor: null, groups: ['ci'], email: null };
const alice: Principal = { id: 'alice', kind: 'human', actsFor: null, groups: ['sre'], email: null };
const NAMED = ['ci', 'sre', 'dba'];

const policyOf = (rules: Omit<RuleSpec, 'id'>[], fallback: Effect = 'deny') =>
  compilePolicy({ default: fallback, defaultTtlSeconds: 600, rules: rules.map((r, i) => ({ id: `r${i}`, ...r })) });

const classOf = (conn: CoverageConnection, id: string) => operationClasses(conn).find((c) => c.id === id) as OperationClass;
const cell = (policy: ReturnType<typeof policyOf>, subject: CoverageSubject, conn: CoverageConnection, cls: string) => coverageCell(policy, subject, conn, classOf(conn, cls));

describe('coverage cells', () => {
  const policy = policyOf([
    { when: 'facts.sql.readOnly', effect: 'allow' },
    { when: 'facts.sql.writes && connection.tags.env == "prod"', effect: 'approve', approvers: [{ groups: ['dba'], count: 2 }] },
    { when: '"orders" in facts.sql.tables && facts.sql.writes', effect: 'approve', approvers: [{ groups: ['sre'], count: 1 }] },
    { when: 'facts.sql.ddl', effect: 'deny' },
    { when: '"sre" in principal.groups && facts.sql.writes && connection.tags.env != "prod"', effect: 'allow' },
    { when: 'action.input.sql.contains("-- hotfix") && principal.kind == "human"', effect: 'allow' },
  ]);

  it('is certain where every rule that could matter reads only fixed values', () => {
    const c = cell(policy, principalSubject(bot), db, 'read');
    expect(c.certain).toBe('allow');
    expect(c.outcomes[0]?.rules).toEqual(['r0']);
    expect(cell(policy, principalSubject(bot), db, 'ddl')).toMatchObject({ certain: 'deny', possible: ['deny'] });
  });

  it('accumulates approvers of certain and conditional approve rules, as the live evaluator does', () => {
    const c = cell(policy, principalSubject(bot), db, 'write');
    expect(c.possible).toEqual(['approve', 'deny']);
    const base = c.outcomes.find((o) => o.via === null);
    expect(base?.effect).toBe('approve');
    expect(base?.approvers).toEqual([{ rule: 'r1', groups: ['dba'], principals: [], count: 2 }]);
    const orders = c.outcomes.find((o) => o.via?.rule === 'r2');
    expect(orders?.approvers.map((a) => a.rule)).toEqual(['r1', 'r2']);
    // ddl varies within the write class: the deny rule is conditional there.
    expect(c.outcomes.find((o) => o.via?.rule === 'r3')?.effect).toBe('deny');
  });

  it('reports a rule on the input as conditional, with its condition', () => {
    const c = cell(policy, principalSubject(alice), stagingDb, 'write');
    // alice is in sre: r4 certainly matches on staging (allow); r2 (tables) may hold it, r3 (ddl varies among writes) deny it.
    expect(c.possible).toEqual(['allow', 'approve', 'deny']);
    expect(c.outcomes.find((o) => o.via === null)).toMatchObject({ effect: 'allow', rules: ['r4'] });
    expect(c.outcomes.find((o) => o.via?.rule === 'r2')).toMatchObject({ effect: 'approve', via: { when: '"orders" in facts.sql.tables && facts.sql.writes' } });
    const human = cell(policy, principalSubject(alice), db, 'write');
    expect(human.outcomes.some((o) => o.via?.when.includes('-- hotfix') && o.effect === 'approve')).toBe(true);
  });

  it('decides a rule on the input where its fixed part decides it (CEL gives false && anything = false)', () => {
    const p = policyOf([
      { when: 'connection.name == "staging-db" && "orders" in facts.sql.tables', effect: 'allow' },
      { when: 'facts.sql.readOnly || action.input.sql.contains("x")', effect: 'approve' },
      { when: 'has(action.input.sql) && connection.name == "nowhere"', effect: 'allow' },
    ]);
    // On db the first rule cannot match and the second matches every read (approve outranks the has() rule's allow,
    // which is never judged this way).
    const read = cell(p, principalSubject(bot), db, 'read');
    expect(read).toMatchObject({ certain: 'approve', possible: ['approve'] });
    expect(read.outcomes.map((o) => o.via?.rule ?? null)).toEqual([null, 'r2']);
    expect(cell(p, principalSubject(bot), stagingDb, 'write').outcomes.map((o) => o.via?.rule ?? null)).toEqual([null, 'r0', 'r1', 'r2']);
  });

  it('flags a writing class on a prod connection where allow is possible, with the reason', () => {
    const open = policyOf([{ when: 'facts.http.path.startsWith("/public")', effect: 'allow' }, { when: 'facts.http.method == "GET"', effect: 'allow' }]);
    const post = cell(open, principalSubject(bot), api, 'POST');
    expect(post).toMatchObject({ possible: ['allow', 'deny'], unreviewedProd: true });
    expect(post.reason).toContain('facts.http.path.startsWith("/public")');
    expect(cell(open, principalSubject(bot), api, 'GET')).toMatchObject({ certain: 'allow', unreviewedProd: false });
    const staging = policyOf([{ when: 'true', effect: 'allow' }]);
    expect(cell(staging, principalSubject(bot), stagingDb, 'write').unreviewedProd).toBe(false);
    expect(cell(staging, principalSubject(bot), kubectl, 'run')).toMatchObject({ unreviewedProd: true, reason: 'always allowed by rule r0' });
    expect(cell(policyOf([], 'allow'), principalSubject(bot), fs, 'destructive').reason).toBe('always allowed by the default (no rule matches)');
  });

  it('judges a group row on every sample of the other groups: a rule on the group alone is certain, one on the exact set is not', () => {
    const p = policyOf([{ when: '"sre" in principal.groups', effect: 'allow' }, { when: 'principal.groups.size() > 1', effect: 'approve' }]);
    const c = cell(p, groupSubject('sre', NAMED), stagingDb, 'write');
    expect(c.possible).toEqual(['allow', 'approve']);
    expect(cell(policyOf([{ when: '"sre" in principal.groups', effect: 'allow' }]), groupSubject('sre', NAMED), stagingDb, 'write').certain).toBe('allow');
    expect(cell(policyOf([{ when: '"sre" in principal.groups', effect: 'allow' }]), groupSubject('dba', NAMED), stagingDb, 'write').possible).toEqual(['allow', 'deny']);
  });

  it("takes an issuer's groups, ids and claims as per-call", () => {
    const p = policyOf([{ when: '"sre" in principal.groups', effect: 'allow' }, { when: 'principal.kind == "human"', effect: 'deny' }]);
    expect(cell(p, issuerSubject('https://idp.example', 'agent', ['sre']), stagingDb, 'write').possible).toEqual(['allow', 'deny']);
    expect(cell(p, issuerSubject('https://idp.example', 'human', ['sre']), stagingDb, 'write').certain).toBe('deny');
  });

  it('denies on a rule that fails on every sample, as the live evaluator fails closed', () => {
    const p = policyOf([{ when: 'principal.claims.team == "x"', effect: 'allow' }], 'allow');
    // A configured principal has no claims: the key is missing, the rule errors, the call is denied.
    expect(cell(p, principalSubject(bot), db, 'read').certain).toBe('deny');
  });

  it('puts changed MCP tools apart, and the mcp classes by annotation', () => {
    const p = policyOf([
      { when: 'facts.mcp.annotations.readOnlyHint', effect: 'allow' },
      { when: 'facts.mcp.toolChanged', effect: 'approve' },
      { when: 'facts.mcp.annotations.destructiveHint', effect: 'deny' },
    ]);
    expect(cell(p, principalSubject(bot), fs, 'read-only').certain).toBe('allow');
    expect(cell(p, principalSubject(bot), fs, 'write').certain).toBe('deny');
    expect(cell(p, principalSubject(bot), fs, 'destructive').certain).toBe('deny');
    expect(cell(p, principalSubject(bot), fs, 'changed').possible).toEqual(['approve', 'deny']);
  });

  it('counts the flagged cells of the map', () => {
    const m = coverageMap(policyOf([{ when: 'facts.writes', effect: 'allow' }]), [principalSubject(bot), groupSubject('sre', NAMED)], CONNECTIONS);
    expect(m.rows.map((r) => r.key)).toEqual(['principal:bot', 'group:sre']);
    expect(m.connections.map((c) => c.prod)).toEqual([true, false, true, true, true]);
    // db: 5 writing classes, api: 5 writing methods, fs: 3, kube: 1; for 2 rows.
    expect(m.unreviewedProd).toBe(2 * (5 + 5 + 3 + 1));
  });
});

describe('isProdConnection', () => {
  it.each<[ConnectionInfo['tags'], boolean]>([
    [{ env: 'prod' }, true],
    [{ env: 'Production' }, true],
    [{ ENV: 'PROD' }, true],
    [{ env: ['eu', 'prod'] }, true],
    // Whatever the reviewer is warned of as production (review-brief.ts) is production for the gate too.
    [{ environment: 'production' }, true],
    [{ Environment: 'PROD' }, true],
    [{ env: 'live' }, true],
    [{ environment: ['eu', 'Live'] }, true],
    [{ env: 'preprod' }, false],
    [{ env: 'staging' }, false],
    [{ tier: 'prod' }, false],
    [{}, false],
  ])('%j → %s', (tags, prod) => {
    expect(isProdConnection({ tags })).toBe(prod);
    expect(connectionRisks({ tags }).prod).toBe(prod);
  });

  it('flags a write allowed outright on a connection tagged environment: production', () => {
    const policy = compilePolicy({ default: 'allow', defaultTtlSeconds: 3600, rules: [] });
    const db: CoverageConnection = { info: { name: 'orders-db', kind: 'postgres', tags: { environment: 'production' } } };
    const map = coverageMap(policy, [principalSubject({ id: 'bot', kind: 'agent', actsFor: null, groups: [], email: null })], [db]);
    expect(map.unreviewedProd).toBeGreaterThan(0);
    expect(map.cells.find((c) => c.class === 'write')).toMatchObject({ unreviewedProd: true, reason: expect.stringContaining('default') });
  });
});

// Soundness: for random policies and random concrete actions, the live effect is among the cell's possible outcomes.
const CONDITIONS = [
  'facts.sql.readOnly', 'facts.sql.writes', 'facts.sql.ddl', 'facts.sql.privilege', 'facts.sql.unboundedWrite',
  '"orders" in facts.sql.tables', 'facts.sql.statements.exists(s, s.type == "delete")',
  'facts.http.method == "DELETE"', 'facts.http.method in ["GET", "HEAD"]', 'facts.http.path.startsWith("/admin")', 'facts.writes',
  'facts.mcp.annotations.destructiveHint', 'facts.mcp.annotations.openWorldHint', 'facts.mcp.toolChanged', 'facts.mcp.tool == "rm"',
  'facts.exec.command == "kubectl"', 'facts.exec.subcommand == "delete"',
  '"sre" in principal.groups', 'principal.kind == "agent"', 'principal.id == "bot"', 'principal.groups.size() == 1', 'principal.claims.team == "x"',
  'action.input.dry == true', 'has(action.input.dry)', 'connection.tags.env == "prod"', 'connection.name == "db"', 'action.reason.size() > 3',
  'true', 'facts.kind == "http"',
  'connection.name == "db" && "orders" in facts.sql.tables', 'facts.sql.readOnly || action.input.dry', 'principal.kind == "human" && principal.claims.team == "x"',
  '"sre" in principal.groups || principal.id == "alice"', 'facts.mcp.tool == "rm" || facts.mcp.annotations.readOnlyHint', 'has(action.input.dry) || facts.writes',
  'facts.sql.statements.all(s, s.type == "select") && facts.sql.readOnly', 'action.input.dry ? facts.writes : true',
  // Conditions that read a whole map or list of what the action tells, or index by a computed key.
  '!("dry" in action.input) && facts.writes', '[facts.sql.readOnly, action.input.dry].exists(x, x == true)', 'action.input.size() == 0 || facts.writes',
  'principal.claims.size() == 0 && facts.writes', 'facts[principal.id] == 1 || facts.sql.readOnly',
];

const condition: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...CONDITIONS),
  fc.tuple(fc.constantFrom(...CONDITIONS), fc.constantFrom('&&', '||'), fc.constantFrom(...CONDITIONS)).map(([a, op, b]) => `(${a}) ${op} (${b})`),
  fc.constantFrom(...CONDITIONS).map((c) => `!(${c})`),
);
const rule = fc.record({
  when: condition,
  effect: fc.constantFrom<Effect>('allow', 'approve', 'deny'),
  approvers: fc.constantFrom(undefined, [{ groups: ['dba'], count: 2 }]),
});
const TABLES = ['orders', 'users', 'audit'];
const STATEMENTS = ['select', 'insert', 'update', 'delete', 'drop', 'grant'];

function factsArb(conn: CoverageConnection): fc.Arbitrary<{ facts: Facts; input: Record<string, unknown> }> {
  const input = fc.oneof(fc.constant({}), fc.record({ dry: fc.boolean() }));
  switch (conn.info.kind) {
    case 'postgres':
      return fc
        .record({ readOnly: fc.boolean(), ddl: fc.boolean(), privilege: fc.boolean(), unboundedWrite: fc.boolean(), tables: fc.subarray(TABLES), types: fc.subarray(STATEMENTS), input })
        .map((r) => {
          const ro = r.readOnly;
          const sql = { statements: r.types.map((type) => ({ type, tables: r.tables, hasWhere: null })), tables: r.tables, readOnly: ro, writes: !ro, ddl: !ro && r.ddl, privilege: !ro && r.privilege, unboundedWrite: !ro && r.unboundedWrite, functions: [] };
          return { facts: makeFacts('postgres', { writes: !ro, sql }), input: r.input };
        });
    case 'http':
      return fc.record({ method: fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'), path: fc.constantFrom('/', '/admin/x', '/public'), input }).map((r) => ({
        facts: makeFacts('http', { writes: !['GET', 'HEAD', 'OPTIONS'].includes(r.method), http: { method: r.method, path: r.path, query: {} } }),
        input: r.input,
      }));
    case 'mcp':
      return fc.record({ ro: fc.boolean(), destructive: fc.boolean(), idem: fc.boolean(), open: fc.boolean(), changed: fc.boolean(), tool: fc.constantFrom('rm', 'ls'), input }).map((r) => ({
        facts: makeFacts('mcp', {
          writes: !r.ro,
          mcp: { tool: r.tool, annotations: { readOnlyHint: r.ro, destructiveHint: !r.ro && r.destructive, idempotentHint: r.idem, openWorldHint: r.open }, arguments: {}, toolChanged: r.changed, definitionHash: 'sha256:x' },
        }),
        input: r.input,
      }));
    case 'exec':
      return fc.record({ args: fc.array(fc.constantFrom('delete', 'get', '-n', 'pods'), { maxLength: 3 }), input }).map((r) => ({
        facts: makeFacts('exec', { writes: true, exec: { argv: ['/usr/bin/kubectl', ...r.args], command: conn.command ?? '', subcommand: r.args[0] && !r.args[0].startsWith('-') ? r.args[0] : '' } }),
        input: r.input,
      }));
  }
}

/** The classes a concrete action belongs to. */
function classesOf(conn: CoverageConnection, f: Facts): string[] {
  switch (conn.info.kind) {
    case 'postgres':
      return [
        ...(f.sql.readOnly ? ['read'] : ['write']),
        ...(f.sql.writes && f.sql.statements.some((s) => s.type === 'delete') ? ['delete'] : []),
        ...(f.sql.ddl ? ['ddl'] : []),
        ...(f.sql.privilege ? ['privilege'] : []),
        ...(f.sql.unboundedWrite ? ['unbounded-write'] : []),
      ];
    case 'http':
      return [['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(f.http.method) ? f.http.method : 'other'];
    case 'mcp':
      return [f.mcp.toolChanged ? 'changed' : f.mcp.annotations.readOnlyHint ? 'read-only' : f.mcp.annotations.destructiveHint ? 'destructive' : 'write'];
    case 'exec':
      return ['run'];
  }
}

const principalArb: fc.Arbitrary<Principal> = fc.record({
  id: fc.constantFrom('bot', 'other', 'alice'),
  kind: fc.constantFrom<'agent' | 'human'>('agent', 'human'),
  groups: fc.subarray(['ci', 'sre', 'dba', 'unnamed']),
  claims: fc.constantFrom({}, { team: 'x' }, { team: 'y' }),
}).map((p) => ({ ...p, actsFor: null, email: null, issuer: 'https://idp.example' }));

/** A random row and a principal that belongs to it. */
const rowAndPrincipal: fc.Arbitrary<{ subject: CoverageSubject; principal: Principal }> = fc.oneof(
  fc.constant({ subject: principalSubject(bot), principal: bot }),
  fc.constant({ subject: principalSubject(alice), principal: alice }),
  fc.tuple(fc.constantFrom('ci', 'sre', 'dba'), principalArb).map(([g, p]) => ({ subject: groupSubject(g, NAMED), principal: { ...p, groups: [...new Set([...p.groups, g])] } })),
  fc.tuple(fc.constantFrom<'agent' | 'human'>('agent', 'human'), principalArb).map(([kind, p]) => ({ subject: issuerSubject('https://idp.example', kind, ['sre']), principal: { ...p, kind } })),
);

describe('coverage soundness', () => {
  it('the live effect of any concrete action is among the possible outcomes of each of its classes (a failing rule denies)', () => {
    const scenario = fc.constantFrom(...CONNECTIONS).chain((conn) =>
      fc.record({ rules: fc.array(rule, { maxLength: 6 }), fallback: fc.constantFrom<Effect>('allow', 'approve', 'deny'), who: rowAndPrincipal, action: factsArb(conn), reason: fc.constantFrom('', 'ticket 42') }).map((s) => ({ ...s, conn })),
    );
    fc.assert(
      fc.property(scenario, ({ conn, rules, fallback, who, action, reason }) => {
        const policy = policyOf(rules.map((r) => ({ when: r.when, effect: r.effect, ...(r.effect === 'approve' && r.approvers ? { approvers: r.approvers } : {}) })), fallback);
        const act: Action = { connection: conn.info.name, operation: OPERATION_BY_KIND[conn.info.kind], input: action.input as Action['input'], reason };
        const live = evaluatePolicy(policy, policyVariables(who.principal, act, conn.info, action.facts, { time: new Date(), request: { surface: 'rest' } }));
        for (const cls of classesOf(conn, action.facts)) {
          const c = cell(policy, who.subject, conn, cls);
          if (live.errors.length === 0 || live.effect !== 'deny') expect(c.possible, `${cls}: ${JSON.stringify(c.outcomes)}`).toContain(live.effect);
          if (live.effect === 'allow') expect(c.possible).toContain('allow');
        }
      }),
      { numRuns: 1500 },
    );
    // 1,500 random policies, each compiled, evaluated live and judged per class: all CPU, 3–8 s alone, and several times
    // that where the suite shares two cores in CI (a load of 17 took it past the 30 s default).
  }, 120_000);
});
