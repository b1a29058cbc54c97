import { describe, expect, it } from 'vitest';
import { CountersignError } from '../errors.ts';
import { compilePolicy } from './compile.ts';
import type { RuleSpec } from './spec.ts';

function problems(rules: RuleSpec[]): string[] {
  try {
    compilePolicy({ default: 'deny', defaultTtlSeconds: 60, rules });
  } catch (e) {
    if (e instanceof CountersignError && e.code === 'CONFIG_INVALID') return e.details['problems'] as string[];
    throw e;
  }
  return [];
}

describe('conditions are checked against the declared variables at load', () => {
  it('refuses a misspelled fact, naming the rule, the path, the known fields and the closest', () => {
    expect(problems([{ id: 'reads', when: 'facts.sql.read_only', effect: 'allow' }])).toEqual([
      'policy.rules[0] (id reads): facts.sql.read_only: no such field; facts.sql has statements, tables, readOnly, writes, ddl, privilege, unboundedWrite, functions (did you mean facts.sql.readOnly?)',
    ]);
  });

  it('reports every problem of every rule at once', () => {
    const all = problems([
      { id: 'ok', when: 'facts.sql.readOnly', effect: 'allow' },
      { id: 'method', when: 'facts.http.methd == "GET"', effect: 'allow' },
      { id: 'two', when: 'facts.mcp.annotation.readOnlyHint || principal.group.exists(g, g == "sre")', effect: 'allow' },
      { id: 'syntax', when: 'facts.sql.(', effect: 'deny' },
      { id: 'type', when: 'facts.sql.readOnly == "yes"', effect: 'deny' },
    ]);
    expect(all).toEqual([
      expect.stringMatching(/^policy\.rules\[1\] \(id method\): facts\.http\.methd: no such field; .*did you mean facts\.http\.method\?/),
      expect.stringMatching(/^policy\.rules\[2\] \(id two\): facts\.mcp\.annotation: no such field; .*did you mean facts\.mcp\.annotations\?/),
      expect.stringMatching(/^policy\.rules\[2\] \(id two\): principal\.group: no such field; .*did you mean principal\.groups\?/),
      expect.stringMatching(/^policy\.rules\[3\] \(id syntax\): condition does not compile/),
      expect.stringMatching(/^policy\.rules\[4\] \(id type\): condition does not type-check: no such overload: bool == string/),
    ]);
  });

  it('refuses a field below a value that has none, and a condition that is not a bool', () => {
    expect(problems([{ id: 'a', when: 'facts.sql.readOnly.x', effect: 'allow' }])).toEqual([
      'policy.rules[0] (id a): facts.sql.readOnly.x: facts.sql.readOnly is a bool, it has no fields',
    ]);
    expect(problems([{ id: 'b', when: 'facts.sql.tables', effect: 'allow' }])).toEqual([
      'policy.rules[0] (id b): condition yields list<string>, not bool',
    ]);
  });

  it('refuses an HTTP header named other than as policy sees it (lower-case, - for _ and .), in an index, a field or `in`', () => {
    expect(
      problems([
        { id: 'a', when: 'action.input.headers["X-Env"] == "production"', effect: 'deny' },
        { id: 'b', when: 'has(action.input.headers.X_Env)', effect: 'deny' },
        { id: 'c', when: '"x_env" in action.input.headers', effect: 'deny' },
        { id: 'd', when: 'action.input["headers"]["x.env"] == "production"', effect: 'deny' },
        { id: 'ok', when: '"x-env" in action.input.headers && action.input.headers["x-env"] == "production" && has(action.input.headers.authorization)', effect: 'deny' },
      ]),
    ).toEqual([
      'policy.rules[0] (id a): action.input.headers["X-Env"]: policy sees header names as servers read them, lower-case with _ and . as - (write "x-env"), so this would never match',
      'policy.rules[1] (id b): action.input.headers["X_Env"]: policy sees header names as servers read them, lower-case with _ and . as - (write "x-env"), so this would never match',
      'policy.rules[2] (id c): action.input.headers["x_env"]: policy sees header names as servers read them, lower-case with _ and . as - (write "x-env"), so this would never match',
      'policy.rules[3] (id d): action.input.headers["x.env"]: policy sees header names as servers read them, lower-case with _ and . as - (write "x-env"), so this would never match',
    ]);
  });

  it('refuses a body or argument key written otherwise than policy sees it (folded as case-insensitive readers read it)', () => {
    expect(
      problems([
        { id: 'a', when: 'action.input.body.Amount > 1000', effect: 'deny' },
        { id: 'b', when: 'facts.mcp.arguments.dryRun == false', effect: 'deny' },
        { id: 'c', when: 'action.input.arguments.items.exists(i, i.Path == "/")', effect: 'deny' },
        { id: 'd', when: 'facts.http.query.pageSize == ["1000"]', effect: 'deny' },
        { id: 'e', when: '"ENV" in facts.http.query || "Amount" in action.input.body', effect: 'deny' },
        { id: 'f', when: '"env" in facts.http.query && "amount" in action.input.body', effect: 'deny' },
        { id: 'ok', when: 'action.input.body.amount > 1000 || facts.mcp.arguments.dryrun == false || facts.mcp.arguments.path.startsWith("/")', effect: 'deny' },
      ]),
    ).toEqual([
      'policy.rules[0] (id a): action.input.body.Amount: policy sees the keys of a body, of tool arguments and of a query folded, as case-insensitive readers (Go, .NET, Jackson) read them (write amount), so this would never match',
      'policy.rules[1] (id b): facts.mcp.arguments.dryRun: policy sees the keys of a body, of tool arguments and of a query folded, as case-insensitive readers (Go, .NET, Jackson) read them (write dryrun), so this would never match',
      'policy.rules[3] (id d): facts.http.query.pageSize: policy sees the keys of a body, of tool arguments and of a query folded, as case-insensitive readers (Go, .NET, Jackson) read them (write pagesize), so this would never match',
      'policy.rules[4] (id e): facts.http.query.ENV: policy sees the keys of a body, of tool arguments and of a query folded, as case-insensitive readers (Go, .NET, Jackson) read them (write env), so this would never match',
      'policy.rules[4] (id e): action.input.body.Amount: policy sees the keys of a body, of tool arguments and of a query folded, as case-insensitive readers (Go, .NET, Jackson) read them (write amount), so this would never match',
    ]);
  });

  it('refuses the HTTP path and query as the agent wrote them: facts.http.path and facts.http.query are what the upstream reads', () => {
    expect(
      problems([
        { id: 'a', when: 'action.input.path == "/admin/purge"', effect: 'deny' },
        { id: 'b', when: 'action.input.query.env == "production" || has(action.input.query)', effect: 'deny' },
        { id: 'ok', when: 'facts.http.path == "/admin/purge" && facts.http.query.env == ["production"]', effect: 'deny' },
      ]),
    ).toEqual([
      'policy.rules[0] (id a): action.input.path: the path as the agent wrote it, which spelt otherwise reaches the same resource (a trailing /, //, %-escapes, a ?query); read facts.http.path, the path as the upstream reads it',
      'policy.rules[1] (id b): action.input.query: the query as the agent wrote it, without what its path carries after ?; read facts.http.query, every parameter the upstream reads',
    ]);
  });

  it('accepts what the agent or issuer shapes freely (input, claims, arguments, tags, query) and every declared fact', () => {
    expect(
      problems([
        { id: 'a', when: 'action.input.anything.at.all == "x" && principal.claims.repo.owner == "o"', effect: 'allow' },
        { id: 'b', when: 'facts.mcp.arguments.path.startsWith("/srv") && connection.tags.env == "prod"', effect: 'allow' },
        { id: 'c', when: 'facts.http.query.page.exists(p, p == "1") && context.request.surface == "rest"', effect: 'allow' },
        { id: 'd', when: 'facts.sql.statements.exists(s, s.type == "delete" && s.hasWhere == false) && "pg_sleep" in facts.sql.functions', effect: 'deny' },
        { id: 'e', when: 'principal.github != null && principal.github.environment == "prod" && context.time > timestamp("2025-01-01T00:00:00Z")', effect: 'allow' },
        { id: 'f', when: 'facts.exec.subcommand in ["get", "describe"] && facts.kind == "exec" && !facts.writes', effect: 'allow' },
      ]),
    ).toEqual([]);
  });
});
