import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from './facts.ts';
import { maskSqlSecrets } from './mask.ts';
import { sqlParser } from './sql-parser.ts';

const parseSync = (sql: string): unknown => sqlParser().parseSync(sql);

beforeAll(async () => {
  await loadSqlParser();
});

/** Deterministic stand-in for the HMAC: shows which value was masked without holding it. */
const fake = (v: string): string => `MASK(${v.length})`;

function masked(sql: string, secrets: readonly string[] = ['password'], params?: (string | number | boolean | null)[]) {
  const out = maskSqlSecrets(sql, params, secrets, fake);
  expect(() => parseSync(out.sql)).not.toThrow();
  return out;
}

describe('maskSqlSecrets', () => {
  it('masks the secret column of a single-row INSERT and leaves the others', () => {
    const out = masked("INSERT INTO users (id, name, password) VALUES (1, 'bob', 'hunter2')");
    expect(out).toEqual({ sql: "INSERT INTO users (id, name, password) VALUES (1, 'bob', 'MASK(7)')", masked: 1 });
  });

  it('masks the secret position in every row of a multi-row INSERT', () => {
    const out = masked("INSERT INTO users (password, id) VALUES ('aa', 1), ('bbb', 2), ($1, 3)", ['password'], ['cccc']);
    expect(out.sql).toBe("INSERT INTO users (password, id) VALUES ('MASK(2)', 1), ('MASK(3)', 2), ($1, 3)");
    expect(out.params).toEqual(['MASK(4)']);
    expect(out.masked).toBe(3);
  });

  it('masks UPDATE SET, a row assignment and a typed constant', () => {
    const out = masked("UPDATE users SET password = 'x1'::text, name = 'n', (token, id) = ('tok', 5) WHERE id = 9", [
      'password',
      'token',
    ]);
    expect(out.sql).toBe("UPDATE users SET password = 'MASK(2)'::text, name = 'n', (token, id) = ('MASK(3)', 5) WHERE id = 9");
    expect(out.masked).toBe(2);
  });

  it('masks every constant of a value expression, such as crypt()', () => {
    const out = masked("UPDATE users SET password = crypt('pw', gen_salt('bf')) WHERE id = 1");
    expect(out.sql).toBe("UPDATE users SET password = crypt('MASK(2)', gen_salt('MASK(2)')) WHERE id = 1");
  });

  it('masks comparisons: =, reversed operands, IN, <>, LIKE, numbers and E strings', () => {
    const out = masked(
      "SELECT id FROM users WHERE password = 'a1' OR 'b22' = password OR password IN ('c', E'd\\'x', 12345) " +
        "OR password <> -42.5 OR password LIKE 'e%' OR name = 'not secret'",
    );
    expect(out.sql).toBe(
      "SELECT id FROM users WHERE password = 'MASK(2)' OR 'MASK(3)' = password OR password IN ('MASK(1)', 'MASK(3)', 'MASK(5)') " +
        "OR password <> 'MASK(5)' OR password LIKE 'MASK(2)' OR name = 'not secret'",
    );
    expect(out.masked).toBe(7);
  });

  it('masks only the qualified secret table, resolving aliases in FROM and JOIN', () => {
    const sql =
      "SELECT 1 FROM users u JOIN accounts a ON a.password = 'acct' AND u.password = 'usr' " +
      "WHERE accounts.password = 'x' OR users.password = 'y'";
    const out = masked(sql, ['users.password']);
    expect(out.sql).toBe(
      "SELECT 1 FROM users u JOIN accounts a ON a.password = 'acct' AND u.password = 'MASK(3)' " +
        "WHERE accounts.password = 'x' OR users.password = 'MASK(1)'",
    );
    expect(masked("SELECT 1 FROM accounts WHERE password = 'acct'", ['users.password']).masked).toBe(0);
    expect(masked("SELECT 1 FROM users WHERE password = 'usr'", ['users.password']).sql).toBe(
      "SELECT 1 FROM users WHERE password = 'MASK(3)'",
    );
    expect(masked("INSERT INTO accounts (password) VALUES ('a')", ['users.password']).masked).toBe(0);
  });

  it('masks a secret parameter in params, not an unrelated one, and keeps the SQL text', () => {
    const sql = 'SELECT * FROM users WHERE id = $1 AND password = $2::text';
    const params = [42, 's3cret', 'unused'];
    const out = masked(sql, ['password'], params);
    expect(out).toEqual({ sql, params: [42, 'MASK(6)', 'unused'], masked: 1 });
    expect(params).toEqual([42, 's3cret', 'unused']); // the caller's array is not touched
  });

  it("handles '' escapes and non-ASCII text before the literal (byte offsets)", () => {
    const out = masked("UPDATE users SET name = 'Zoë 日本 🎉', password = 'it''s mine' WHERE note = 'ü'");
    expect(out.sql).toBe("UPDATE users SET name = 'Zoë 日本 🎉', password = 'MASK(9)' WHERE note = 'ü'");
  });

  it('masks dollar-quoted, continued and U& strings', () => {
    const sql = "SELECT 1 FROM users WHERE password IN ($t$dol'lar$t$, 'con'\n  'tinued', U&'d!0061t' UESCAPE '!')";
    expect(masked(sql).sql).toBe("SELECT 1 FROM users WHERE password IN ('MASK(7)', 'MASK(9)', 'MASK(3)')");
  });

  it('takes a folded minus sign (and its parentheses) with a number, but leaves it before a string', () => {
    const sql = "SELECT 1 FROM users WHERE password = - -5 OR password = -( /*c*/ 7.5) OR password = - (('s')) OR password = 0x1F";
    expect(masked(sql).sql).toBe(
      "SELECT 1 FROM users WHERE password = 'MASK(1)' OR password = 'MASK(4)' OR password = - (('MASK(1)')) OR password = 'MASK(2)'",
    );
  });

  it('finds an INSERT inside a CTE and a comparison in a subquery', () => {
    const sql =
      "WITH n AS (INSERT INTO users (id, password) VALUES (1, 'pw') RETURNING id) " +
      "SELECT * FROM n WHERE id IN (SELECT id FROM users WHERE password = 'pw2')";
    const out = masked(sql);
    expect(out.sql).toBe(
      "WITH n AS (INSERT INTO users (id, password) VALUES (1, 'MASK(2)') RETURNING id) " +
        "SELECT * FROM n WHERE id IN (SELECT id FROM users WHERE password = 'MASK(3)')",
    );
  });

  it('covers every statement, ON CONFLICT, INSERT … SELECT and MERGE', () => {
    const sql =
      "INSERT INTO users (password) VALUES ('a') ON CONFLICT (id) DO UPDATE SET password = 'bb'; " +
      "INSERT INTO users (id, password) SELECT 1, 'ccc'; " +
      "MERGE INTO users u USING s ON u.id = s.id WHEN MATCHED THEN UPDATE SET password = 'dddd' " +
      "WHEN NOT MATCHED THEN INSERT (id, password) VALUES (2, 'eeeee')";
    const out = masked(sql);
    expect(out.masked).toBe(5);
    for (const v of ["'a'", "'bb'", "'ccc'", "'dddd'", "'eeeee'"]) expect(out.sql).not.toContain(v);
  });

  it('masks every value of an INSERT without a column list', () => {
    expect(masked("INSERT INTO users VALUES (1, 'pw')").sql).toBe("INSERT INTO users VALUES ('MASK(1)', 'MASK(2)')");
    expect(masked("INSERT INTO other VALUES (1, 'pw')", ['users.password']).masked).toBe(0);
  });

  it('returns the same string when there is nothing to mask, and unparseable SQL unchanged', () => {
    const sql = "SELECT * FROM users WHERE password = 'x'";
    expect(maskSqlSecrets(sql, undefined, [], fake).sql).toBe(sql);
    expect(maskSqlSecrets(sql, [1], [], fake)).toEqual({ sql, params: [1], masked: 0 });
    const none = "SELECT * FROM users WHERE name = 'x'";
    expect(maskSqlSecrets(none, undefined, ['password'], fake)).toEqual({ sql: none, masked: 0 });
    expect(maskSqlSecrets("SELEC password = 'x'", undefined, ['password'], fake)).toEqual({ sql: "SELEC password = 'x'", masked: 0 });
  });

  it('delimits any string literal form exactly: the masked SQL parses and holds the mask, not the value', () => {
    const quote = (v: string, form: number): string => {
      if (form === 0) return `'${v.replaceAll("'", "''")}'`;
      if (form === 1) return `E'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
      return `$q$${v}$q$`;
    };
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), fc.integer({ min: 0, max: 2 }), fc.string(), (v, form, pre) => {
        const value = form === 2 ? v.replaceAll('$', '') : v;
        if (value === '' || value.includes('\0')) return;
        const lead = quote(pre.replaceAll('\0', ''), 0);
        const sql = `UPDATE users SET note = ${lead}, password = ${quote(value, form)} WHERE id = 1`;
        const out = maskSqlSecrets(sql, undefined, ['password'], (s) => `M${s.length}`);
        expect(out.sql).toBe(`UPDATE users SET note = ${lead}, password = 'M${value.length}' WHERE id = 1`);
      }),
    );
  });

  it('never leaves the secret in the SQL or params, and the literal is the mask', () => {
    const secret = 'Tr0ub4dor&3-ünïcode';
    const hmac = (v: string): string => `hmac-sha256:${Buffer.from(v).toString('hex').slice(0, 8)}`;
    const sql = `WITH x AS (UPDATE users SET password = '${secret}' WHERE password = $1 RETURNING id) SELECT * FROM x`;
    const out = maskSqlSecrets(sql, [secret], ['users.password'], hmac);
    expect(out.masked).toBe(2);
    expect(`${out.sql} ${JSON.stringify(out.params)}`).not.toContain(secret);
    const tree = JSON.stringify(parseSync(out.sql));
    expect(tree).toContain(`"sval":"${hmac(secret)}"`);
    expect(out.params).toEqual([hmac(secret)]);
  });

  it('gives up on a parenthesised number with no closing parenthesis after it, in linear time on a long run of spaces', () => {
    const spaces = ' '.repeat(100_000);
    expect(masked(`UPDATE users SET password = -(5${spaces}::int)`).sql).toBe(`UPDATE users SET password = -('MASK(1)'${spaces}::int)`);
    expect(masked(`UPDATE users SET password = -(- 5${spaces}/* c */ )`).sql).toBe("UPDATE users SET password = 'MASK(1)'");
  });
});
