/**
 * The coverage map against the gateway's own decision path: the config's
 * policy (built-in rules included) and connections, facts from the real SQL
 * parser and HTTP normalisation, decided by simulate (what `policy test` and
 * POST /v1/policy/simulate run). For every action, the effect it gets is
 * among the possible outcomes of each class it falls in.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { coverageSubjects } from '../config/coverage-subjects.ts';
import { parseConfig } from '../config/load.ts';
import type { CoverageMap } from '../core/policy/coverage.ts';
import type { Facts } from '../core/facts.ts';
import type { Principal } from '../core/principal.ts';
import { createPolicyDeps } from '../main-policy.ts';
import { policyCoverage } from './coverage.ts';
import { simulate } from './simulate.ts';

const config = parseConfig(
  `principals:
  - { id: deploy-bot, kind: agent, groups: [ci] }
  - { id: alice, kind: human, groups: [sre] }
  - { id: dave, kind: human, groups: [dev] }
connections:
  - { name: orders-db, kind: postgres, url: "postgres://nobody@127.0.0.1:1/orders", tags: { env: prod } }
  - { name: billing-api, kind: http, url: "http://127.0.0.1:9", tags: { env: production } }
  - { name: ops, kind: exec, command: /bin/echo, tags: { env: prod } }
policy:
  default: deny
  rules:
    - { id: reads, when: facts.sql.readOnly, effect: allow }
    - { id: no-ddl, when: facts.sql.ddl && !("sre" in principal.groups), effect: deny }
    - { id: writes, when: 'facts.sql.writes && !("sre" in principal.groups)', effect: approve, approvers: [{ groups: [sre], count: 2 }] }
    - { id: customers, when: '"customers" in facts.sql.tables', effect: approve, approvers: [{ groups: [dba] }] }
    - { id: sre-scratch, when: '"sre" in principal.groups && facts.sql.tables.all(t, t.startsWith("scratch_"))', effect: allow }
    - { id: no-unbounded, when: facts.sql.unboundedWrite, effect: deny }
    - { id: deletes, when: 'facts.sql.statements.exists(s, s.type == "delete")', effect: approve }
    - { id: http-reads, when: '!facts.writes && facts.kind == "http"', effect: allow }
    - { id: webhooks, when: 'facts.http.method == "POST" && facts.http.path.startsWith("/webhooks")', effect: allow }
    - { id: admin, when: 'facts.http.path.startsWith("/admin") && principal.kind == "agent"', effect: deny }
    - { id: ops-status, when: 'facts.exec.subcommand == "status"', effect: allow }
    - { id: ops, when: 'facts.kind == "exec" && action.input.args.size() > 1', effect: approve, approvers: [{ principals: [alice] }] }
`,
  'test.yaml',
  {},
);

let deps: Awaited<ReturnType<typeof createPolicyDeps>>;
let map: CoverageMap;
const caller: Principal = { id: '(test)', kind: 'human', actsFor: null, groups: [], email: null };

beforeAll(async () => {
  deps = await createPolicyDeps(config);
  map = policyCoverage(deps, coverageSubjects(config));
});

/** The classes an action's facts fall in. */
function classesOf(f: Facts): string[] {
  if (f.kind === 'postgres') {
    return [
      f.sql.readOnly ? 'read' : 'write',
      ...(f.sql.writes && f.sql.statements.some((s) => s.type === 'delete') ? ['delete'] : []),
      ...(f.sql.ddl ? ['ddl'] : []),
      ...(f.sql.privilege ? ['privilege'] : []),
      ...(f.sql.unboundedWrite ? ['unbounded-write'] : []),
    ];
  }
  if (f.kind === 'http') return [['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(f.http.method) ? f.http.method : 'other'];
  return ['run'];
}

/** How many actions reached a decision (the others were refused before policy). */
let decided = 0;

function check(principal: string, connection: string, input: unknown): void {
  let s;
  try {
    s = simulate(deps, { caller, as: principal, connection, input });
  } catch {
    return; // Refused before policy (a refused method): nothing is decided.
  }
  decided++;
  for (const cls of classesOf(s.facts)) {
    const cell = map.cells.find((c) => c.row === `principal:${principal}` && c.connection === connection && c.class === cls);
    expect(cell, `${principal} ${connection} ${cls}`).toBeDefined();
    const ok = cell!.possible.includes(s.decision.effect) || (s.decision.effect === 'deny' && s.decision.errors.length > 0);
    expect(ok, `${principal} ${JSON.stringify(input)} (${cls}): ${s.decision.effect} [${s.decision.rules.join(', ')}], map says ${cell!.possible.join('|')}`).toBe(true);
  }
}

const SQL = [
  'select * from orders', 'select * from scratch_a', 'insert into scratch_a values (1)', 'insert into customers values (1)',
  'update orders set a = 1 where id = 2', 'update scratch_b set a = 1', 'delete from orders where id = 1', 'delete from scratch_a where true',
  'with d as (delete from customers where id = 1 returning *) select * from d', 'create table scratch_c (a int)', 'drop table orders',
  'grant select on orders to bob', 'alter role bob superuser', 'truncate scratch_a', 'select public.refresh()', 'select 1; delete from orders',
  'explain delete from orders', 'select * from orders for update', 'merge into orders o using scratch_a s on o.id = s.id when matched then delete',
];
const PRINCIPALS = ['deploy-bot', 'alice', 'dave'];

describe('the coverage map against the decisions of real actions', () => {
  it.each(SQL)('SQL: %s', (sql) => {
    const before = decided;
    for (const p of PRINCIPALS) check(p, 'orders-db', { sql });
    expect(decided - before).toBe(PRINCIPALS.length);
  });

  it('HTTP: any method and path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PRINCIPALS),
        fc.constantFrom('get', 'HEAD', 'OPTIONS', 'post', 'PUT', 'PATCH', 'DELETE', 'PROPFIND', 'PURGE', 'TRACE'),
        fc.constantFrom('/', '/admin', '/ADMIN/x', '/webhooks/a', '//webhooks/../admin', '/%61dmin', '/webhooks/'),
        (p, method, path) => check(p, 'billing-api', { method, path }),
      ),
      { numRuns: 300 },
    );
    expect(decided).toBeGreaterThan(200);
  });

  it('exec: any arguments', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PRINCIPALS), fc.array(fc.constantFrom('status', 'delete', '-n', 'x'), { maxLength: 3 }), (p, args) => check(p, 'ops', { args })),
      { numRuns: 200 },
    );
  });

  it('flags what the hand reading says: alice may write scratch tables on prod unreviewed; agents may not', () => {
    const cell = (row: string, cls: string) => map.cells.find((c) => c.row === row && c.connection === 'orders-db' && c.class === cls);
    expect(cell('principal:alice', 'write')?.unreviewedProd).toBe(true);
    expect(cell('principal:deploy-bot', 'write')?.possible).toEqual(['approve', 'deny']);
    expect(cell('principal:deploy-bot', 'read')).toMatchObject({ possible: ['allow', 'approve'], unreviewedProd: false });
  });
});
