import { beforeAll, describe, expect, it } from 'vitest';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(() => loadSqlParser());

const refused = (sql: string) => {
  try {
    deriveSqlFacts(sql);
    return false;
  } catch (e) {
    return (e as { code?: string }).code === 'SQL_SETTING_REFUSED';
  }
};

describe('settings an action may change: memory capped at 1GB, a COPY only in UTF-8', () => {
  it.each([
    "SET work_mem = '2000GB'",
    "SET work_mem = '1025MB'",
    'SET work_mem = 1048577',
    "SET work_mem = '0x7fffffff'",
    "SET work_mem = '1e9'",
    "SET LOCAL maintenance_work_mem = '2TB'",
    'SET temp_buffers = 131073',
    "SELECT set_config('work_mem', '2000GB', false)",
    "SELECT set_config('work_mem', repeat('9', 9), false)",
    "SELECT set_config('maintenance_work_mem', 1048577::text, false)",
    'SET temp_file_limit = -1',
    'SET statement_timeout = 0',
  ])('%s is refused', (sql) => expect(refused(sql)).toBe(true));

  it.each(["SET work_mem = '64MB'", "SET work_mem = '1GB'", 'SET work_mem = 1048576', "SET work_mem = '1.5MB'", 'SET work_mem TO DEFAULT', 'RESET work_mem', "SET temp_buffers = '1GB'", 'SET temp_buffers = 131072', "SELECT set_config('work_mem', '32MB', false)"])(
    '%s is allowed',
    (sql) => expect(refused(sql)).toBe(false),
  );

  it.each(["COPY t FROM STDIN (ENCODING 'LATIN1')", "COPY t FROM STDIN WITH ENCODING 'SJIS'", 'COPY t FROM STDIN (ENCODING win1252)', "COPY t TO STDOUT (ENCODING 'unicode')", "COPY t (a) FROM STDIN (FORMAT csv, ENCODING 'utf8 ')"])(
    '%s is refused',
    (sql) => expect(refused(sql)).toBe(true),
  );

  it.each(['COPY t FROM STDIN', "COPY t FROM STDIN (ENCODING 'UTF8')", "COPY t FROM STDIN (ENCODING 'utf-8')", 'COPY t TO STDOUT (ENCODING Utf8)'])('%s is allowed', (sql) => expect(refused(sql)).toBe(false));

  it('a COPY of a query lists the query as a statement of its own, as the query alone would be', () => {
    const f = deriveSqlFacts('COPY (SELECT pg_terminate_backend(pid) FROM pg_stat_activity) TO STDOUT');
    expect(f.statements.map((s) => s.type)).toEqual(['copy', 'select']);
    expect(f).toMatchObject({ readOnly: false, functions: ['pg_catalog.pg_terminate_backend'] });
    expect(deriveSqlFacts('COPY (DELETE FROM t RETURNING *) TO STDOUT').statements.map((s) => s.type)).toEqual(['copy', 'delete']);
    expect(deriveSqlFacts('COPY t TO STDOUT').statements.map((s) => s.type)).toEqual(['copy']);
  });
});
