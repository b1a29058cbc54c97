import { describe, expect, it } from 'vitest';
import { approveDecision, human, requestRecord, reviewOf } from '../../test/support/fixtures.ts';
import { makeFacts, EMPTY_MCP_FACTS, EMPTY_SQL_FACTS } from './facts.ts';
import { actionLine, approvalStep, approveLabel, headedAction, oneLine, reviewBrief } from './review-brief.ts';
import type { RequestRecord } from './request.ts';

const http = (method: string, path: string, tags: RequestRecord['connection']['tags'] = {}): RequestRecord =>
  requestRecord({
    action: { connection: 'billing-api', operation: 'http.request', input: { method, path } as never, reason: 'r' },
    connection: { name: 'billing-api', kind: 'http', tags },
    facts: makeFacts('http', { writes: !['GET', 'HEAD', 'OPTIONS'].includes(method), http: { method, path, query: {} } }),
  });

describe('the action line', () => {
  it('names the exact action and its connection', () => {
    expect(reviewBrief(http('POST', '/refunds')).action).toBe('POST /refunds on billing-api');
    expect(reviewBrief(requestRecord()).action).toBe('SQL on orders-db: UPDATE orders SET status = $1 WHERE id = $2');
  });

  it('names an MCP tool with its arguments, bounded however deep they are', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 5000; i++) deep = { k: deep };
    const r = requestRecord({
      action: { connection: 'github', operation: 'tools/call', input: { tool: 'delete_repo', arguments: { name: 'web', deep } } as never, reason: 'r' },
      connection: { name: 'github', kind: 'mcp', tags: {} },
      facts: makeFacts('mcp', { writes: true }),
    });
    const brief = reviewBrief(r);
    expect(brief.action.startsWith('Tool on github: delete_repo { "name": "web", "deep": { "k": {')).toBe(true);
    expect(brief.action.length).toBeLessThanOrEqual(160);
    expect(brief.risks).toEqual(['writes']);
  });

  it('quotes an argument that holds a space, as the rest of the request shows it: one argument cannot pass for several', () => {
    // `--dryrun` here is part of the exclude pattern: this removes everything but *.keep, for real.
    const args = ['s3', 'rm', 's3://prod-bucket', '--recursive', '--exclude', "*.keep --dryrun", "it's", ''];
    const r = requestRecord({
      action: { connection: 'aws', operation: 'exec.run', input: { args } as never, reason: 'r' },
      connection: { name: 'aws', kind: 'exec', tags: {} },
      facts: makeFacts('exec', { writes: true, exec: { argv: ['/usr/bin/aws', ...args], command: 'aws', subcommand: 's3' } }),
    });
    expect(reviewBrief(r).action).toBe(`Run on aws: /usr/bin/aws s3 rm s3://prod-bucket --recursive --exclude '*.keep --dryrun' 'it'\\''s' ''`);
  });

  it('keeps the connection when the path is cut, and neutralises controls and bidi overrides', () => {
    const line = actionLine(http('POST', `/refunds/${'a'.repeat(500)}`), 80);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line.endsWith('… on billing-api')).toBe(true);
    expect(oneLine('DELETE\n FROM\u202Eorders')).toBe('DELETE FROM\uFFFDorders');
    // Line and paragraph separators, zero-width and bidi isolates could fake a second line or hide a word.
    expect(oneLine('SELECT 1\u2028Risk: read-only\u2029\u200BDELETE\u2067x\uFEFF')).toBe('SELECT 1\uFFFDRisk: read-only\uFFFD\uFFFDDELETE\uFFFDx\uFFFD');
    expect(oneLine('SELECT 1;\u00A0\u3000\u2003DELETE')).toBe('SELECT 1; DELETE');
    expect(oneLine('a😀', 2)).toBe('a…'.slice(0, 2));
  });
});

describe('the risk line', () => {
  it('comes from the facts and the tags, never the reason', () => {
    expect(reviewBrief(http('GET', '/invoices')).riskLine).toBe('read-only');
    expect(reviewBrief(http('DELETE', '/invoices/1', { env: 'production', data: ['pii'] })).risks).toEqual(['writes', 'deletes', 'prod', 'PII', 'irreversible']);
    const sql = requestRecord({ facts: makeFacts('postgres', { writes: true, sql: { ...EMPTY_SQL_FACTS, statements: [{ type: 'delete', tables: ['t'], hasWhere: false }], writes: true, unboundedWrite: true } }) });
    expect(reviewBrief(sql).riskLine).toBe('writes · deletes · unbounded write · prod · irreversible');
  });

  it('says a tool\'s definition changed since it was accepted, however read-only it still calls itself', () => {
    const tool = (toolChanged: boolean) =>
      requestRecord({
        action: { connection: 'greeter', operation: 'tools/call', input: { tool: 'greet', arguments: { name: 'ada' } } as never, reason: 'r' },
        connection: { name: 'greeter', kind: 'mcp', tags: {} },
        facts: makeFacts('mcp', { writes: false, mcp: { ...EMPTY_MCP_FACTS, tool: 'greet', annotations: { ...EMPTY_MCP_FACTS.annotations, readOnlyHint: true, destructiveHint: false }, toolChanged } }),
      });
    expect(reviewBrief(tool(false)).riskLine).toBe('read-only');
    expect(reviewBrief(tool(true)).riskLine).toBe('tool changed');
  });

  it('asks for a confirmation on production or PII only', () => {
    expect(reviewBrief(http('POST', '/x', { env: 'prod' })).confirm).toBe(true);
    expect(reviewBrief(http('POST', '/x', { pii: true })).confirm).toBe(true);
    expect(reviewBrief(http('POST', '/x', { env: 'staging' })).confirm).toBe(false);
  });
});

describe('the Approve label', () => {
  const two = requestRecord({ decision: approveDecision(['sre'], 2) });

  it('names the consequence only on an approval that completes the quorum', () => {
    const brief = reviewBrief(two);
    expect(approveLabel(two, approvalStep(two, human('carol', ['sre'])))).toBe('Approve (1 of 2)');
    const one = { ...two, reviews: [reviewOf(two, human('carol', ['sre']))] };
    expect(approveLabel(one, approvalStep(one, human('bob', ['sre'])))).toBe(`Approve and run ${brief.action}`);
    // Unknown reviewer (a shared chat card): "and run" whenever one approval could complete it.
    expect(approvalStep(two).completes).toBe(false);
    expect(approvalStep(one).completes).toBe(true);
  });

  it('counts every requirement when this approval fills only one of them', () => {
    const both = requestRecord({ decision: { ...approveDecision(['sre'], 1), approvers: [{ rule: 'a', groups: ['sre'], principals: [], count: 1 }, { rule: 'b', groups: ['dba'], principals: [], count: 1 }] } });
    const brief = reviewBrief(both);
    expect(approveLabel(both, approvalStep(both, human('carol', ['sre'])))).toBe('Approve (1 of 2)');
    expect(approveLabel(both, approvalStep(both, human('erin', ['sre', 'dba'])))).toBe(`Approve and run ${brief.action}`);
  });

  it('never says "and run" to one human for two places of one rule, nor on a shared card while a rule lacks two', () => {
    const twoPlaces = requestRecord({ decision: { ...approveDecision(['sre'], 1), approvers: [{ rule: 'a', groups: ['sre'], principals: [], count: 1 }, { rule: 'a', groups: ['dba'], principals: [], count: 1 }] } });
    const brief = reviewBrief(twoPlaces);
    expect(approveLabel(twoPlaces, approvalStep(twoPlaces, human('erin', ['sre', 'dba'])))).toBe('Approve (1 of 2)');
    expect(approvalStep(twoPlaces).completes).toBe(false);
    const oneLeft = { ...twoPlaces, reviews: [reviewOf(twoPlaces, human('erin', ['sre', 'dba']))] };
    expect(approveLabel(oneLeft, approvalStep(oneLeft, human('carol', ['sre'])))).toBe(`Approve and run ${brief.action}`);
    expect(approvalStep(oneLeft).completes).toBe(true);
  });
});

describe('a cut SQL action line', () => {
  it('names every dangerous statement kind before the cut, however the SQL pads it', () => {
    const statements = ['select', 'insert', 'update', 'create', 'alter', 'delete'].map((type) => ({ type, tables: [], hasWhere: true }));
    const sql = `SELECT 1; /* ${'x'.repeat(3000)} */ DELETE FROM orders`;
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql } }, facts: makeFacts('postgres', { writes: true, sql: { ...makeFacts('postgres', { writes: true }).sql, statements } }) });
    const brief = reviewBrief(r);
    expect(brief.action).toMatch(/^SQL on orders-db \(DELETE, INSERT, UPDATE, CREATE \+2 more kinds\): SELECT 1; \/\* x+…$/);
    expect(brief.riskLine).toContain('deletes');
    expect(approveLabel(r, { completes: true, nth: 1, of: 1 }, 75)).toMatch(/^Approve and run SQL on orders-db \(DELETE, /);
  });
});

describe('an action line in less room than its own', () => {
  it('is made for the room left after the head, so a cut SQL line leads with its statement kinds', () => {
    const statements = ['select', 'delete'].map((type) => ({ type, tables: [], hasWhere: true }));
    // 150 characters: it fits the line's own 160, not a 75-character button.
    const sql = `SELECT 1; -- ${'b'.repeat(100)}\nDELETE FROM orders`;
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql } }, facts: makeFacts('postgres', { writes: true, sql: { ...makeFacts('postgres', { writes: true }).sql, statements } }) });
    expect(reviewBrief(r).action).toContain('⏎ DELETE FROM orders');
    const label = approveLabel(r, { completes: true, nth: 1, of: 1 }, 75);
    expect(label).toMatch(/^Approve and run SQL on orders-db \(DELETE, SELECT\): SELECT 1; -- b+…$/);
    expect(label.length).toBe(75);
    expect(headedAction(r, 'Approval needed: ', 150)).toMatch(/^Approval needed: SQL on orders-db \(DELETE, SELECT\): SELECT 1; -- b+…$/);
    expect(approveLabel(r, { completes: true, nth: 1, of: 1 })).toBe(`Approve and run ${reviewBrief(r).action}`);
  });
});

describe('a SQL line comment on the action line', () => {
  it('shows where it ends, since what follows the line break runs: flattened, it read as part of the comment', () => {
    const sql = (text: string) => reviewBrief(requestRecord({ action: { ...requestRecord().action, input: { sql: text } } })).action;
    expect(sql('DELETE FROM orders WHERE id = 1 -- checked by ops\nOR true')).toBe('SQL on orders-db: DELETE FROM orders WHERE id = 1 -- checked by ops ⏎ OR true');
    // PostgreSQL ends a line comment at a carriage return too.
    expect(sql('SELECT 1 -- read only\rDELETE FROM orders')).toBe('SQL on orders-db: SELECT 1 -- read only ⏎ DELETE FROM orders');
    expect(sql('SELECT 1 -- a\r\n  -- b\n\nDELETE FROM orders')).toBe('SQL on orders-db: SELECT 1 -- a ⏎ -- b ⏎ DELETE FROM orders');
    // Line breaks elsewhere stay spaces.
    expect(sql('SELECT 1\nFROM t')).toBe('SQL on orders-db: SELECT 1 FROM t');
  });
});

describe('hidden characters in what the agent sent', () => {
  const withInput = (input: unknown, reason = 'r') => requestRecord({ action: { ...requestRecord().action, input: input as never, reason } });

  it('are a risk when the input or the reason holds a bidi override, zero-width, line separator or control character', () => {
    // Each is shown as U+FFFD (or named by the CLI); the flag says so where a reviewer looks first.
    for (const c of ['\u202E', '\u2066', '\u200B', '\uFEFF', '\u2028', '\u0085', '\u001B', '\u0000']) {
      expect(reviewBrief(withInput({ sql: `DELETE FROM orders WHERE note = '${c}'` })).risks, `U+${c.charCodeAt(0).toString(16)}`).toContain('hidden characters');
    }
    expect(reviewBrief(withInput({ sql: 'SELECT 1' }, 'fine\u202Eeteled')).risks).toContain('hidden characters');
    expect(reviewBrief(withInput({ method: 'POST', path: '/x', body: { deep: [{ ['k\u2067']: 1 }] } })).riskLine).toContain('hidden characters');
    expect(reviewBrief(withInput({ tool: 't', arguments: { a: ['ok', 'x\u200Dy'] } })).risks).toContain('hidden characters');
    expect(reviewBrief(withInput({ args: ['echo', '\u001b[2J'] })).risks).toContain('hidden characters');
  });

  it('are no risk for newlines, tabs, carriage returns or visible text in any script', () => {
    expect(reviewBrief(withInput({ sql: 'SELECT 1;\r\n\tSELECT \'größe 😀 日本\'\r' }, 'line one\nline two')).risks).not.toContain('hidden characters');
  });
});

describe('a name that reads as another', () => {
  const sql = (tables: string[], functions: string[] = []) =>
    requestRecord({ facts: makeFacts('postgres', { writes: true, sql: { ...EMPTY_SQL_FACTS, statements: [{ type: 'delete', tables, hasWhere: true }], tables, functions, writes: true } }) });

  it('is a risk when a table, function, path or tool mixes scripts or has a compatibility form (homoglyphs)', () => {
    expect(reviewBrief(sql(['public.\u043erders'])).risks).toContain('look-alike name'); // Cyrillic о
    expect(reviewBrief(sql(['public.orders'], ['public.s\u0430fe_cleanup'])).risks).toContain('look-alike name'); // Cyrillic а
    expect(reviewBrief(sql(['\uff4frders'])).risks).toContain('look-alike name'); // fullwidth ｏ
    expect(reviewBrief(http('POST', '/refunds/\u0430dmin')).risks).toContain('look-alike name');
    expect(reviewBrief(http('POST', '/refunds/\u0430dmin')).riskLine).toBe('writes · look-alike name · irreversible');
  });

  it('is no risk for plain ASCII names or names in one script', () => {
    expect(reviewBrief(sql(['public.orders'])).risks).not.toContain('look-alike name');
    expect(reviewBrief(sql(['public.größe', 'public.заказы'])).risks).not.toContain('look-alike name');
  });
});

describe('a cut exec action line', () => {
  const run = (args: string[]) =>
    requestRecord({
      action: { connection: 'ops-k8s', operation: 'exec.run', input: { args } as never, reason: 'r' },
      connection: { name: 'ops-k8s', kind: 'exec', tags: {} },
      facts: makeFacts('exec', { writes: true, exec: { argv: ['/usr/local/bin/kubectl', ...args], command: 'kubectl', subcommand: '' } }),
    });

  it('leads with the command and the words that are not options, every word after `--` counted', () => {
    const line = actionLine(run([`--kubeconfig=${'a'.repeat(200)}`, 'delete', 'pods', '--all']), 60);
    expect(line).toMatch(/^Run on ops-k8s \(kubectl delete pods\): \/usr\/local\/bin\/kub.*…$/);
    expect(line.length).toBe(60);
    expect(actionLine(run(['-v=9', `--token=${'t'.repeat(200)}`, 'exec', 'web', '--', 'rm', '-rf', '/data']), 80)).toMatch(/^Run on ops-k8s \(kubectl exec web rm -rf \/data\): /);
  });

  it('shows a bounded number of words, each cut, and marks what it left out', () => {
    const line = actionLine(run([...Array.from({ length: 40 }, (_, i) => `w${i}`), `x${'y'.repeat(50)}`]), 160);
    expect(line).toMatch(/^Run on ops-k8s \(kubectl w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 …\): /);
    expect(actionLine(run(['-n', 'z'.repeat(100), 'delete', 'ns', 'prod']), 70)).toMatch(/^Run on ops-k8s \(kubectl z{19}… delete ns prod\): /);
  });
});
