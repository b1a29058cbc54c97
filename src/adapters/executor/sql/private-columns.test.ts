/**
 * The private columns of the server's views (other sessions' SQL text, per-role
 * settings) are refused by the facts, whatever rule allows the statement; their
 * other columns still read.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseSql, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const credentials = (sql: string) => analyseSql(sql).names.credentials;

describe('private columns of the server views', () => {
  it.each([
    ['SELECT query FROM pg_stat_activity', 'pg_stat_activity.query'],
    ['SELECT pg_catalog.pg_stat_activity.query FROM pg_catalog.pg_stat_activity', 'pg_stat_activity.query'],
    ['SELECT count(*) FROM pg_stat_activity WHERE query ~ $1', 'pg_stat_activity.query'],
    ['SELECT 1 FROM pg_stat_activity a JOIN t USING (query)', 'pg_stat_activity.query'],
    ['SELECT 1 FROM pg_stat_activity a NATURAL JOIN t', 'pg_stat_activity a (NATURAL JOIN)'],
    ['TABLE pg_roles', 'pg_roles.*'],
    ['WITH x AS (SELECT * FROM pg_user) SELECT usename FROM x', 'pg_user.*'],
    ['SELECT r.text FROM pg_roles r', 'pg_roles.text'],
    ['SELECT r.row_to_json FROM pg_roles r', 'pg_roles.row_to_json'],
    ['SELECT (r).rolconfig FROM pg_roles r', 'pg_roles.rolconfig'],
    ['SELECT to_json(pg_roles) FROM pg_roles', 'pg_roles pg_roles'],
    ['SELECT c FROM pg_roles AS r(a, b, c)', 'pg_roles r'],
    ['SELECT s FROM pg_cursors AS c(n, s)', 'pg_cursors c'],
    ['COPY pg_prepared_statements TO STDOUT', 'pg_prepared_statements.*'],
    ['COPY (SELECT useconfig FROM pg_user) TO STDOUT', 'pg_user.useconfig'],
    ['SELECT queryid FROM pg_stat_statements ORDER BY query', 'pg_stat_statements.query'],
    ['SELECT lo_get(16400)', 'pg_catalog.lo_get'],
    ['SELECT loread(lo_open(16400, 262144), 10)', 'pg_catalog.loread'],
    ['SELECT pg_stat_get_backend_activity(1)', 'pg_catalog.pg_stat_get_backend_activity'],
    ['SELECT * FROM pg_hba_file_rules()', 'pg_catalog.pg_hba_file_rules'],
  ])('%s reads %s', (sql, what) => {
    expect(credentials(sql)).toContain(what);
  });

  it.each([
    'SELECT rolname FROM pg_roles',
    "SELECT r.rolname, r.rolsuper, r.rolconnlimit, r.rolvaliduntil FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1",
    'SELECT pid, state, wait_event, wait_event_type, backend_type FROM pg_stat_activity WHERE datname = current_database()',
    'SELECT count(*) FROM pg_stat_activity',
    'SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid',
    'SELECT name, prepare_time FROM pg_prepared_statements',
    'SELECT query FROM my_queries',
    'SELECT * FROM t',
  ])('%s reads none', (sql) => {
    expect(credentials(sql)).toEqual([]);
  });
});
