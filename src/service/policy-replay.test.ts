/**
 * Replay over recorded events directly: each action is decided at its own
 * recorded time; with its connection gone the recorded facts are used (and
 * the change says so); an event replay cannot read is counted, not fatal.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../core/policy/compile.ts';
import type { Connections } from '../core/ports.ts';
import { replayPolicy, type RecordedEvent } from './policy-replay.ts';

const none: Connections = { get: () => undefined, list: () => [] };

function submitted(id: string, time: string, sql: string, readOnly: boolean, effect: 'allow' | 'approve', rules: string[]): RecordedEvent {
  return {
    type: 'request.submitted',
    time,
    requestId: id,
    data: {
      principal: { id: 'deploy-bot', kind: 'agent', actsFor: 'carol', groups: [], identity: { issuer: 'https://issuer.test', subject: 'bot' } },
      connection: { name: 'orders-db', kind: 'postgres', tags: { env: 'prod' } },
      operation: 'sql.query',
      input: { sql },
      reason: 'r',
      facts: { kind: 'postgres', writes: !readOnly, sql: { statements: [], tables: ['orders'], readOnly, writes: !readOnly, ddl: false, privilege: false, unboundedWrite: false, functions: [] } },
      decision: { effect, rules, message: null, policyHash: 'sha256:live', approvers: effect === 'approve' ? [{ rule: rules[0], groups: ['sre'], principals: [], count: 1 }] : [] },
      context: { surface: 'rest' },
    },
  };
}

describe('replayPolicy', () => {
  it('decides each action at its recorded time, on the recorded facts when the connection is gone', async () => {
    // Reads are allowed only before 2026; claims are not recorded, so a rule on them sees none.
    const candidate = compilePolicy({
      default: 'deny',
      defaultTtlSeconds: 3600,
      rules: [
        { id: 'old-reads', when: 'facts.sql.readOnly && context.time < timestamp("2026-01-01T00:00:00Z")', effect: 'allow' },
        { id: 'claimed', when: '"team" in principal.claims', effect: 'allow' },
        { id: 'writes', when: 'facts.writes && context.request.surface == "rest"', effect: 'approve', approvers: [{ groups: ['sre'], count: 1 }] },
      ],
    });
    const events = [
      submitted('req_2025', '2025-06-01T00:00:00.000Z', 'select 1', true, 'allow', ['reads']),
      submitted('req_2026', '2026-06-01T00:00:00.000Z', 'select 2', true, 'allow', ['reads']),
      submitted('req_write', '2026-06-01T00:00:01.000Z', 'update orders set a = 1 where id = 2', false, 'approve', ['prod-writes']),
      { type: 'request.held', time: '2026-06-01T00:00:01.000Z', requestId: 'req_write', data: {} },
      { type: 'request.submitted', time: '2026-06-01T00:00:02.000Z', requestId: 'req_old', data: { input: {} } },
    ];
    const r = await replayPolicy({ connections: none }, candidate, events, { since: new Date('2020-01-01T00:00:00.000Z') });
    expect(r.replayed).toBe(3);
    expect(r.factsAsRecorded).toBe(3);
    expect(r.unreadable).toEqual([{ requestId: 'req_old', why: 'no principal or connection recorded' }]);
    expect(r.changes.map((c) => [c.requestId, c.live.effect, c.candidate.effect, c.candidate.rules, c.factsAsRecorded, c.input])).toEqual([['req_2026', 'allow', 'deny', [], true, 'select 2']]);

    const later = await replayPolicy({ connections: none }, candidate, events, { since: new Date('2026-06-01T00:00:00.500Z') });
    expect([later.replayed, later.changes.length]).toEqual([1, 0]);
  });

  it('keeps the recorded facts of an MCP call even while its connection exists: they came from the tool listing of the time', async () => {
    const mcp: Connections = {
      get: (name) =>
        name === 'files'
          ? {
              info: { name: 'files', kind: 'mcp', tags: {} },
              maxRunMs: 1000,
              facts: () => {
                throw new Error('derived again');
              },
              execute: () => Promise.reject(new Error('not run')),
            }
          : undefined,
      list: () => [],
    };
    const candidate = compilePolicy({ default: 'allow', defaultTtlSeconds: 60, rules: [{ id: 'no-writes', when: '!facts.mcp.annotations.readOnlyHint', effect: 'deny' }] });
    const event: RecordedEvent = {
      type: 'request.submitted',
      time: '2026-06-01T00:00:00.000Z',
      requestId: 'req_mcp',
      data: {
        principal: { id: 'deploy-bot', kind: 'agent', actsFor: null, groups: [] },
        connection: { name: 'files', kind: 'mcp', tags: {} },
        operation: 'mcp.call',
        input: { tool: 'write_file', arguments: { path: '/tmp/x' } },
        reason: 'r',
        facts: { kind: 'mcp', writes: true, mcp: { tool: 'write_file', annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false }, arguments: { path: '/tmp/x' }, toolChanged: false, definitionHash: 'sha256:d' } },
        decision: { effect: 'allow', rules: ['mcp-any'], message: null, policyHash: 'sha256:live', approvers: [] },
        context: {},
      },
    };
    const r = await replayPolicy({ connections: mcp }, candidate, [event], { since: new Date('2026-01-01T00:00:00.000Z') });
    expect(r.changes).toEqual([expect.objectContaining({ requestId: 'req_mcp', input: 'tool write_file', factsAsRecorded: true, candidate: expect.objectContaining({ effect: 'deny', rules: ['no-writes'] }) })]);
  });
});
