import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RequestView } from '../surfaces/sdk/client.ts';
import { RUN_EXIT, exitCodeTable } from './run-exit.ts';
import { runAction } from './run-input.ts';
import { heldText, resultText, table } from './run-output.ts';
import { safeJson } from './output.ts';
import { UsageError } from './usage-error.ts';

const view = (over: Partial<RequestView> = {}): RequestView => ({
  id: 'req_1',
  status: 'succeeded',
  principal: { id: 'deploy-bot', kind: 'agent', actsFor: null, groups: [] },
  connection: { name: 'orders-db', kind: 'postgres', tags: {} },
  action: { connection: 'orders-db', operation: 'sql.query', input: { sql: 'select 1' }, reason: 'r' },
  facts: { writes: false },
  digest: 'sha256:d',
  decision: { effect: 'allow', rules: ['reads'], message: null, policyHash: 'h', approvers: [] },
  approvals: { needed: 0, remaining: [] },
  reviews: [],
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  expiresAt: null,
  result: null,
  error: null,
  ...over,
});

describe('what run submits', () => {
  it('shapes each kind’s input from its flag', () => {
    expect(runAction('db', [], { sql: 'select 1', reason: ' why ' })).toEqual({ connection: 'db', input: { sql: 'select 1' }, reason: 'why' });
    expect(runAction('api', [], { http: ['post', '/r?x=1'], header: ['X-A: b:c'], body: '{"a":1}', reason: 'r' }).input).toEqual({ method: 'POST', path: '/r?x=1', headers: { 'X-A': 'b:c' }, body: { a: 1 } });
    expect(runAction('api', [], { http: ['POST', '/r'], body: '42', reason: 'r' }).input).toEqual({ method: 'POST', path: '/r', body: '42' });
    expect(runAction('api', [], { http: ['POST', '/r'], body: '@-', reason: 'r' }, () => '"quoted"').input).toEqual({ method: 'POST', path: '/r', body: '"quoted"' });
    expect(runAction('k', ['get', '--all', '$(id)'], { reason: 'r' }).input).toEqual({ args: ['get', '--all', '$(id)'] });
    expect(runAction('fs', [], { tool: 'read', reason: 'r' }).input).toEqual({ tool: 'read', arguments: {} });
  });

  it('refuses a second header of the same name, in any case', () => {
    expect(() => runAction('api', [], { http: ['GET', '/'], header: ['X-A: 1', 'x-a: 2'], reason: 'r' })).toThrow(new UsageError('--header x-a is given twice'));
  });
});

describe('what run prints', () => {
  it('a table as psql draws it, numbers to the right, cells on one line with controls named', () => {
    expect(table(['id', 'note'], [[7, 'a\nb'], [10, '\u001b[2J']]).split('\n')).toEqual([' id | note    ', '----+---------', '  7 | a\\nb    ', ' 10 | \\x1b[2J ']);
  });

  it('JSON that parses back to the same value, with no hidden character raw', () => {
    const value = { s: '\u001b[31m\u009b\u202e\u2028\u{F0000}ok', k: 1 };
    const text = safeJson(value);
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e\u2028]|\u{F0000}/u);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('an HTTP body on stdout and its status on stderr; an exec command’s two streams apart', () => {
    expect(resultText(view({ connection: { name: 'api', kind: 'http', tags: {} }, result: { status: 201, contentType: 'text/plain', body: 'done\u001b[0m' } }))).toEqual({ stdout: 'done\\x1b[0m\n', stderr: 'HTTP 201 text/plain\n' });
    expect(resultText(view({ connection: { name: 'ls', kind: 'exec', tags: {} }, result: { exitCode: 2, signal: null, stdout: 'a\n', stderr: 'no\r\n' } }))).toEqual({ stdout: 'a\n', stderr: 'no\\x0d\n' });
  });

  it('the held notice: one line on a pipe, the console link when the gateway gives one', () => {
    const held = view({ status: 'pending', approvals: { needed: 1, remaining: [{ rule: 'w', groups: ['sre'], principals: [], needed: 1 }] }, links: { self: '', wait: '', events: '', console: 'https://cs.example/requests/req_1' } });
    const line = heldText(held, false);
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(line).toContain('needs 1 from group sre (rule w); review: https://cs.example/requests/req_1 (or: countersign requests approve req_1)');
    expect(heldText({ ...held, links: undefined }, false)).toContain('review: countersign requests approve req_1');
  });
});

describe('the exit codes', () => {
  it('are distinct, and the README and --help list every one', () => {
    const codes = Object.values(RUN_EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## countersign run: the agent'), readme.indexOf('\n## ', readme.indexOf('## countersign run: the agent') + 5));
    const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented.sort((a, b) => a - b)).toEqual([...codes].sort((a, b) => a - b));
    const help = [...exitCodeTable().matchAll(/^ +(\d+) {2}/gm)].map((m) => Number(m[1]));
    expect(help.sort((a, b) => a - b)).toEqual([...codes].sort((a, b) => a - b));
  });
});
