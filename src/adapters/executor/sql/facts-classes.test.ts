/**
 * What the coverage map's SQL classes (core/policy/coverage-classes.ts)
 * assume of the facts: read-only SQL is never DDL, a privilege change or an
 * unbounded write, so the read class need not sample them. Checked here on
 * the real parser, on statements that hide a write where a read is expected.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveSqlFacts, loadSqlParser } from './facts.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const SQL = [
  'select 1',
  'show all',
  'explain select * from orders',
  'explain delete from orders',
  'explain analyze update orders set a = 1',
  'with d as (delete from orders returning *) select * from d',
  'select * from orders for update',
  'select * into copy_of_orders from orders',
  'create table t as select * from orders',
  'grant select on orders to bob',
  'alter role bob superuser',
  'truncate orders',
  'do $$ begin delete from orders; end $$',
  'select pg_catalog.set_config(\'role\', \'admin\', false)',
  'select public.refresh_totals()',
  'delete from orders',
  'update orders set a = 1 where id = 2',
  'select 1; drop table orders',
  'copy orders to stdout',
  'comment on table orders is \'x\'',
  'lock table orders',
  'vacuum orders',
  'set role admin',
  'reset all',
];

describe('SQL facts, as the coverage classes read them', () => {
  it.each(SQL)('%s: read-only means no DDL, no privilege change, no unbounded write; writes is not read-only', (sql) => {
    let f;
    try {
      f = deriveSqlFacts(sql);
    } catch {
      return; // Refused SQL never reaches policy.
    }
    expect(f.writes).toBe(!f.readOnly);
    if (f.readOnly) expect([f.ddl, f.privilege, f.unboundedWrite]).toEqual([false, false, false]);
  });
});
