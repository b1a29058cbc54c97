import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CountersignError } from '../../../core/errors.ts';
import type { Action } from '../../../core/action.ts';
import type { ConnectionInfo } from '../../../core/connection.ts';
import { makeFacts } from '../../../core/facts.ts';
import { compilePolicy } from '../../../core/policy/compile.ts';
import { evaluatePolicy } from '../../../core/policy/evaluate.ts';
import { policyVariables } from '../../../core/policy/variables.ts';
import type { Principal } from '../../../core/principal.ts';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

function parseError(sql: string): CountersignError {
  try {
    deriveSqlFacts(sql);
  } catch (e) {
    if (e instanceof CountersignError) return e;
    throw e;
  }
  throw new Error(`expected ${sql} not to parse`);
}

describe('deriveSqlFacts', () => {
  it('sees a plain SELECT as read-only, with its tables', () => {
    const f = deriveSqlFacts('SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id');
    expect(f.readOnly).toBe(true);
    expect(f.writes).toBe(false);
    expect(f.tables).toEqual(['orders', 'customers']);
    expect(f.statements).toEqual([{ type: 'select', tables: ['orders', 'customers'], hasWhere: null }]);
    expect(f.ddl || f.privilege || f.unboundedWrite).toBe(false);
  });

  it('sees a DELETE hidden in a CTE as a write on the real table, not the CTE', () => {
    const f = deriveSqlFacts('WITH d AS (DELETE FROM orders WHERE id=1 RETURNING *) SELECT * FROM d');
    // The DELETE is listed as a statement of its own, so a rule looking for a delete finds it.
    expect(f.statements).toEqual([
      { type: 'select', tables: ['orders'], hasWhere: null },
      { type: 'delete', tables: ['orders'], hasWhere: true },
    ]);
    expect(f.readOnly).toBe(false);
    expect(f.writes).toBe(true);
    expect(f.tables).toContain('orders');
    expect(f.tables).not.toContain('d');
    expect(f.unboundedWrite).toBe(false);
  });

  it('lists every write nested in a statement as a statement of its own: WITH, EXPLAIN ANALYZE, and no more', () => {
    const types = (sql: string) => deriveSqlFacts(sql).statements.map((s) => [s.type, s.hasWhere]);
    expect(types('WITH u AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM u')).toEqual([['select', null], ['update', false]]);
    expect(types('WITH i AS (INSERT INTO t VALUES (1) RETURNING id) DELETE FROM s WHERE id IN (SELECT id FROM i)')).toEqual([['delete', true], ['insert', null]]);
    expect(types('WITH a AS (WITH b AS (DELETE FROM t RETURNING 1) SELECT 1) SELECT * FROM a')).toEqual([['select', null], ['delete', false]]);
    expect(types('EXPLAIN ANALYZE DELETE FROM t')).toEqual([['explain', null], ['delete', false]]);
    expect(types('CREATE TABLE x AS WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d')).toEqual([['create', null], ['delete', false]]);
    // A definition's body runs later, judged then (an EXECUTE, an INSERT the rule rewrites): listed as what it is.
    expect(types('PREPARE p AS DELETE FROM t')).toEqual([['prepare', null]]);
    // …but a PREPARE whose statement the same string EXECUTEs runs it now: its writes are listed.
    expect(types('PREPARE p AS DELETE FROM t WHERE id = 1; EXECUTE p')).toEqual([['prepare', null], ['delete', true], ['execute', null]]);
    expect(types('PREPARE p AS UPDATE t SET a = 1; EXPLAIN ANALYZE EXECUTE p')).toEqual([['prepare', null], ['update', false], ['explain', null]]);
    expect(types('CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM s')).toEqual([['create', null]]);
    // Reads nested in reads stay one statement.
    expect(types('SELECT * FROM t WHERE id IN (SELECT id FROM s) UNION SELECT 1')).toEqual([['select', null]]);
  });

  it('lets a policy that holds deletes hold a DELETE written inside a WITH, which a looser rule would allow', () => {
    const spec = {
      default: 'deny' as const,
      defaultTtlSeconds: 3600,
      rules: [
        { id: 'bounded-writes', when: 'facts.sql.writes && !facts.sql.unboundedWrite', effect: 'allow' as const },
        { id: 'deletes', when: 'facts.sql.statements.exists(s, s.type == "delete")', effect: 'approve' as const, approvers: [{ groups: ['dba'], count: 1 }] },
      ],
    };
    const bot: Principal = { id: 'deploy-bot', kind: 'agent', actsFor: null, groups: [], email: null };
    const db: ConnectionInfo = { name: 'orders-db', kind: 'postgres', tags: { env: 'prod' } };
    const decide = (sql: string) => {
      const facts = makeFacts('postgres', { writes: true, sql: deriveSqlFacts(sql) });
      const action: Action = { connection: db.name, operation: 'sql.query', input: { sql }, reason: 'r' };
      return evaluatePolicy(compilePolicy(spec), policyVariables(bot, action, db, facts, { time: new Date(), request: { surface: 'rest' } })).effect;
    };
    expect(decide('UPDATE orders SET a = 1 WHERE id = 1')).toBe('allow');
    expect(decide('DELETE FROM orders WHERE id = 1')).toBe('approve');
    expect(decide('WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d')).toBe('approve');
    expect(decide('WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING id) UPDATE orders SET a = 1 WHERE id IN (SELECT id FROM d)')).toBe('approve');
  });

  it('treats a CTE reading a table of its own name as the table', () => {
    expect(deriveSqlFacts('WITH t AS (SELECT * FROM t) SELECT * FROM t').tables).toEqual(['t']);
    expect(deriveSqlFacts('WITH t AS (SELECT 1) DELETE FROM t WHERE true').tables).toEqual(['t']);
  });

  it('finds a table in a subquery even when a CTE of the same name is in scope elsewhere', () => {
    const f = deriveSqlFacts('SELECT * FROM secrets WHERE EXISTS (WITH secrets AS (SELECT 1) SELECT 1 FROM secrets)');
    expect(f.tables).toEqual(['secrets']);
  });

  it('sees every statement of a multi-statement string', () => {
    const f = deriveSqlFacts('select 1; drop table x');
    expect(f.statements.map((s) => s.type)).toEqual(['select', 'drop']);
    expect(f.statements[1]?.tables).toEqual(['x']);
    expect(f.ddl).toBe(true);
    expect(f.writes).toBe(true);
  });

  it('flags DELETE without WHERE as an unbounded write', () => {
    const f = deriveSqlFacts('DELETE FROM t');
    expect(f.statements).toEqual([{ type: 'delete', tables: ['t'], hasWhere: false }]);
    expect(f.unboundedWrite).toBe(true);
  });

  it('flags an UPDATE without WHERE nested in a CTE as unbounded', () => {
    expect(deriveSqlFacts('WITH u AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM u').unboundedWrite).toBe(true);
  });

  it('sees UPDATE with WHERE as bounded', () => {
    const f = deriveSqlFacts('UPDATE t SET a=1 WHERE id=2');
    expect(f.statements).toEqual([{ type: 'update', tables: ['t'], hasWhere: true }]);
    expect(f.unboundedWrite).toBe(false);
    expect(f.writes).toBe(true);
  });

  it.each([
    ['GRANT SELECT ON t TO bob', 'grant'],
    ['REVOKE SELECT ON t FROM bob', 'revoke'],
    ['GRANT admins TO bob', 'grant'],
    ['REVOKE admins FROM bob', 'revoke'],
    ['ALTER ROLE bob SUPERUSER', 'alter_role'],
    ['ALTER ROLE bob SET search_path = x', 'alter_role'],
    ['CREATE ROLE eve LOGIN', 'create_role'],
    ['DROP ROLE eve', 'drop_role'],
    ['ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob', 'grant'],
    // A new owner holds every privilege on what it owns (and may grant them): an ownership change is a privilege change.
    ['REASSIGN OWNED BY app TO bob', 'reassign_owned'],
    ['ALTER TABLE secrets OWNER TO bob', 'alter'],
    ['ALTER TABLE t ADD COLUMN c int, OWNER TO bob', 'alter'],
    ['ALTER SCHEMA app OWNER TO bob', 'alter'],
    ['ALTER FUNCTION f() OWNER TO bob', 'alter'],
    ['ALTER DATABASE d OWNER TO bob', 'database'],
  ])('sees %s as a privilege change (%s)', (sql, type) => {
    const f = deriveSqlFacts(sql);
    expect(f.statements[0]?.type).toBe(type);
    expect(f.privilege).toBe(true);
    expect(f.readOnly).toBe(false);
  });

  it.each([
    ['CREATE TABLE a (id int)', 'create'],
    ['CREATE TABLE b AS SELECT 1', 'create'],
    ['CREATE INDEX ON a (id)', 'create'],
    ['CREATE VIEW v AS SELECT 1', 'create'],
    ['CREATE EXTENSION pgcrypto', 'extension'],
    ['ALTER TABLE a ADD COLUMN x int', 'alter'],
    ['ALTER TABLE a RENAME TO c', 'alter'],
    ['TRUNCATE a, s.b', 'truncate'],
    ["COMMENT ON TABLE a IS 'x'", 'comment'],
  ])('sees %s as DDL (%s)', (sql, type) => {
    const f = deriveSqlFacts(sql);
    expect(f.statements[0]?.type).toBe(type);
    expect(f.ddl).toBe(true);
    expect(f.writes).toBe(true);
  });

  it('names the tables of DROP and TRUNCATE', () => {
    expect(deriveSqlFacts('DROP TABLE a.x, y').tables).toEqual(['a.x', 'y']);
    expect(deriveSqlFacts('TRUNCATE a, s.b').tables).toEqual(['a', 's.b']);
  });

  it.each([
    ["SET work_mem = '64MB'", 'set'],
    ['BEGIN', 'transaction'],
    // Two-phase commit ends transactions of other sessions too: not the transaction control a rule allowing BEGIN/COMMIT means.
    ["PREPARE TRANSACTION 'x'", 'prepared_transaction'],
    ["COMMIT PREPARED 'x'", 'prepared_transaction'],
    ["ROLLBACK PREPARED 'x'", 'prepared_transaction'],
    ['CALL p(1)', 'call'],
    ["DO $$ BEGIN PERFORM 1; END $$", 'do'],
    ['COPY t TO STDOUT', 'copy'],
    ['COPY t FROM STDIN', 'copy'],
    // A file on the database server, or a program it runs: not the COPY a rule for client COPY means.
    ["COPY t FROM PROGRAM 'id'", 'copy_server'],
    ["COPY t TO PROGRAM 'cat'", 'copy_server'],
    ["COPY t FROM '/etc/hostname'", 'copy_server'],
    ["COPY (SELECT 1) TO '/tmp/x'", 'copy_server'],
    ['VACUUM t', 'vacuum'],
    ['REFRESH MATERIALIZED VIEW m', 'refresh_mat_view'],
  ])('sees %s as not read-only (%s)', (sql, type) => {
    const f = deriveSqlFacts(sql);
    expect(f.statements[0]?.type).toBe(type);
    expect(f.readOnly).toBe(false);
  });

  it('sees SHOW as read-only', () => {
    expect(deriveSqlFacts('SHOW search_path')).toMatchObject({ readOnly: true, statements: [{ type: 'show' }] });
  });

  it('sees a read of a setting that may hold a credential (or of any, by SHOW ALL or a computed name) as not read-only', () => {
    for (const sql of [
      'SHOW ALL',
      'SHOW primary_conninfo',
      'SHOW "SSL_PASSPHRASE_COMMAND"',
      "SELECT current_setting('Primary_Conninfo')",
      "SELECT pg_catalog.current_setting('archive_command', true)",
      "SELECT current_setting('restore_' || 'command')",
      "SELECT lower(x) FROM (SELECT current_setting(name) AS x FROM t) s",
    ]) {
      expect(deriveSqlFacts(sql).readOnly, sql).toBe(false);
    }
    expect(deriveSqlFacts("SELECT current_setting('TimeZone'), current_setting('server_version_num', true)").readOnly).toBe(true);
  });

  it('sees SELECT … FOR UPDATE as not read-only', () => {
    expect(deriveSqlFacts('SELECT * FROM t FOR UPDATE').readOnly).toBe(false);
    expect(deriveSqlFacts('SELECT * FROM (SELECT * FROM t FOR SHARE) s').readOnly).toBe(false);
  });

  it('sees SELECT … INTO as not read-only', () => {
    const f = deriveSqlFacts('SELECT id INTO newt FROM t');
    expect(f.readOnly).toBe(false);
    expect(f.tables).toEqual(expect.arrayContaining(['newt', 't']));
  });

  it('types SELECT … INTO as the CREATE TABLE … AS it is, so a rule allowing SELECT by type or denying DDL sees a create', () => {
    const types = (sql: string) => deriveSqlFacts(sql).statements.map((s) => s.type);
    for (const sql of ['SELECT id INTO newt FROM t', 'SELECT * INTO TEMP newt FROM t', 'SELECT * INTO UNLOGGED TABLE newt FROM t']) {
      expect(types(sql), sql).toEqual(['create']);
      expect(deriveSqlFacts(sql).ddl, sql).toBe(true);
    }
    // EXPLAIN ANALYZE runs the CREATE TABLE … AS (or SELECT … INTO, or CREATE MATERIALIZED VIEW) it explains: listed too.
    expect(types('EXPLAIN ANALYZE SELECT * INTO newt FROM t')).toEqual(['explain', 'create']);
    expect(types('EXPLAIN ANALYZE CREATE TABLE newt AS SELECT * FROM t')).toEqual(['explain', 'create']);
    expect(types('EXPLAIN (ANALYZE) CREATE MATERIALIZED VIEW mv AS SELECT 1')).toEqual(['explain', 'create']);
    expect(deriveSqlFacts('EXPLAIN ANALYZE SELECT * INTO newt FROM t').ddl).toBe(true);
    // The server takes the INTO of a set operation's leftmost SELECT for the whole (a UNION, INTERSECT, EXCEPT).
    for (const sql of ['SELECT id INTO newt FROM t UNION SELECT 2', '(SELECT 1 INTO newt) INTERSECT SELECT 1 EXCEPT SELECT 3']) {
      expect(types(sql), sql).toEqual(['create']);
      expect(deriveSqlFacts(sql).ddl, sql).toBe(true);
    }
    expect(types('EXPLAIN ANALYZE SELECT 1 INTO newt UNION ALL SELECT 2')).toEqual(['explain', 'create']);
    // A plain SELECT, one FOR UPDATE, and a UNION without INTO stay selects.
    expect(types('SELECT * FROM t FOR UPDATE')).toEqual(['select']);
    expect(types('SELECT 1 UNION SELECT 2 INTERSECT SELECT 2')).toEqual(['select']);
  });

  it('lists what a statement runs or touches that its own type hides: a GRANT in CREATE SCHEMA, an upsert\'s UPDATE, the table of a dropped policy', () => {
    const types = (sql: string) => deriveSqlFacts(sql).statements.map((s) => s.type);
    // CREATE SCHEMA runs its GRANTs with it, on any object they name: listed, as the privilege changes they are.
    expect(types('CREATE SCHEMA s GRANT SELECT ON public.t TO PUBLIC')).toEqual(['create', 'grant']);
    expect(types('CREATE SCHEMA s CREATE TABLE x (id int) CREATE VIEW v AS SELECT 1')).toEqual(['create']);
    // An upsert updates the rows its new ones collide with: listed as the update it runs, with the WHERE of its DO UPDATE.
    const upsert = (sql: string) => deriveSqlFacts(sql).statements.map((s) => [s.type, s.hasWhere]);
    expect(upsert("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 'x'")).toEqual([['insert', null], ['update', false]]);
    expect(upsert('INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = excluded.v WHERE t.id = 1')).toEqual([['insert', null], ['update', true]]);
    expect(upsert('WITH i AS (INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = 1 RETURNING id) SELECT * FROM i')).toEqual([['select', null], ['insert', null], ['update', false]]);
    expect(upsert('INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING')).toEqual([['insert', null]]);
    // A policy, trigger or rule dropped lists the table it is on, as ALTER POLICY … ON does.
    expect(deriveSqlFacts('DROP POLICY own ON secrets').tables).toEqual(['secrets']);
    expect(deriveSqlFacts('DROP TRIGGER IF EXISTS audited ON public.secrets').tables).toEqual(['public.secrets']);
    expect(deriveSqlFacts('DROP RULE keep ON s.secrets').tables).toEqual(['s.secrets']);
    expect(deriveSqlFacts('DROP TABLE a.x, y').tables).toEqual(['a.x', 'y']);
  });

  it('sees EXPLAIN ANALYZE of a write as a write, and plain EXPLAIN SELECT as read-only', () => {
    expect(deriveSqlFacts('EXPLAIN ANALYZE DELETE FROM t').writes).toBe(true);
    expect(deriveSqlFacts('EXPLAIN ANALYZE DELETE FROM t').unboundedWrite).toBe(true);
    expect(deriveSqlFacts('EXPLAIN SELECT 1').readOnly).toBe(true);
    expect(deriveSqlFacts('EXPLAIN (ANALYZE off) SELECT 1').readOnly).toBe(true);
    expect(deriveSqlFacts('EXPLAIN (ANALYZE) SELECT 1').readOnly).toBe(false);
    expect(deriveSqlFacts('EXPLAIN DELETE FROM t WHERE id = 1').readOnly).toBe(false);
  });

  it('lists every function called, schema-qualified: an unqualified call is named pg_catalog.<name>', () => {
    const f = deriveSqlFacts('select pg_terminate_backend(1), pg_catalog.NOW(), lower(x) from t where lower(y) = $1');
    expect(f.functions).toEqual(['pg_catalog.pg_terminate_backend', 'pg_catalog.now', 'pg_catalog.lower']);
    expect(deriveSqlFacts('CALL app.purge(1)').functions).toEqual(['app.purge']);
  });

  it('lower-cases schema-qualified names', () => {
    expect(deriveSqlFacts('SELECT * FROM public.Orders').tables).toEqual(['public.orders']);
    expect(deriveSqlFacts('SELECT * FROM "Sales"."Orders"').tables).toEqual(['sales.orders']);
  });

  it('sees MERGE target and source', () => {
    const f = deriveSqlFacts('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE');
    expect(f.statements).toEqual([
      { type: 'merge', tables: ['t', 's'], hasWhere: null },
      { type: 'delete', tables: ['t', 's'], hasWhere: null },
    ]);
    expect(f.writes).toBe(true);
  });

  it('lists each kind of write the WHEN clauses of a MERGE run, once each, and none for DO NOTHING', () => {
    const f = deriveSqlFacts('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.x THEN DELETE WHEN MATCHED THEN UPDATE SET v = 1 WHEN NOT MATCHED THEN INSERT VALUES (1) WHEN NOT MATCHED BY SOURCE THEN DELETE');
    expect(f.statements.map((s) => s.type)).toEqual(['merge', 'delete', 'update', 'insert']);
    const nothing = deriveSqlFacts('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DO NOTHING');
    expect(nothing.statements.map((s) => s.type)).toEqual(['merge']);
  });

  it('rejects a syntax error as INPUT_UNPARSEABLE', () => {
    const e = parseError('selec 1');
    expect(e.code).toBe('INPUT_UNPARSEABLE');
    expect(e.message).toContain('syntax error at or near "selec"');
  });

  it('rejects a string holding no statement', () => {
    const e = parseError('-- only a comment');
    expect(e.code).toBe('INPUT_UNPARSEABLE');
    expect(e.message).toBe('no SQL statement');
  });

  it('rejects SQL nested too deeply instead of crashing', () => {
    const deep = `select ${'(select '.repeat(2000)}1${')'.repeat(2000)}`;
    expect(parseError(deep).code).toBe('INPUT_UNPARSEABLE');
  });

  it('never lets a CTE make a write look read-only', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
    fc.assert(
      // Quoted, so a name that is a keyword (user, table) still parses.
      fc.property(name, name, fc.constantFrom('select', 'insert', 'update', 'delete'), (table, cte, kind) => {
        const inner = {
          select: `SELECT * FROM "${table}"`,
          insert: `INSERT INTO "${table}" VALUES (1) RETURNING *`,
          update: `UPDATE "${table}" SET a = 1 RETURNING *`,
          delete: `DELETE FROM "${table}" RETURNING *`,
        }[kind];
        const bare = deriveSqlFacts(inner);
        const wrapped = deriveSqlFacts(`WITH "${cte}" AS (${inner}) SELECT * FROM "${cte}"`);
        expect(wrapped.readOnly).toBe(bare.readOnly);
        expect(wrapped.writes).toBe(kind !== 'select');
        expect(wrapped.tables).toContain(table);
      }),
    );
  });
});
