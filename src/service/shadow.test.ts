/**
 * The shadow evaluation on its own: nothing without a candidate or when it
 * agrees; a candidate that throws (beyond a rule that fails, which policy
 * evaluation turns into a deny) is caught and recorded, never raised.
 */
import { describe, expect, it } from 'vitest';
import { agent, FIXTURE_CONNECTION } from '../../test/support/fixtures.ts';
import { makeFacts, EMPTY_SQL_FACTS } from '../core/facts.ts';
import { compilePolicy } from '../core/policy/compile.ts';
import { decide } from './decide.ts';
import { shadowEvent, type ShadowInputs } from './shadow.ts';

const inputs: ShadowInputs = {
  principal: agent(),
  action: { connection: 'orders-db', operation: 'sql.query', input: { sql: 'select 1' }, reason: 'check' },
  connection: FIXTURE_CONNECTION,
  facts: makeFacts('postgres', { writes: false, sql: { ...EMPTY_SQL_FACTS, readOnly: true } }),
  context: { time: new Date('2026-12-01T00:00:00.000Z'), request: {} },
};
const live = compilePolicy({ default: 'deny', defaultTtlSeconds: 3600, rules: [{ id: 'reads', when: 'facts.sql.readOnly', effect: 'allow' }] });
const decision = decide(live, inputs.principal, inputs.action, inputs.connection, inputs.facts, inputs.context);
const at = { requestId: 'req_1', time: '2026-12-01T00:00:00.000Z' };

describe('shadowEvent', () => {
  it('is nothing without a candidate, or with one that agrees', () => {
    expect(shadowEvent({}, inputs, decision, at)).toBeUndefined();
    const renamed = compilePolicy({ default: 'deny', defaultTtlSeconds: 60, rules: [{ id: 'sql-reads', when: 'facts.sql.readOnly && context.time > timestamp("2026-01-01T00:00:00Z")', effect: 'allow' }] });
    expect(shadowEvent({ candidate: renamed }, inputs, decision, at)).toBeUndefined();
  });

  it('records a candidate that throws as an error, beside the live decision', () => {
    const compiled = compilePolicy({ default: 'allow', defaultTtlSeconds: 60, rules: [] });
    const throwing = {
      ...compiled,
      session: () => {
        throw new Error('out of memory in the candidate');
      },
    };
    expect(shadowEvent({ candidate: throwing }, inputs, decision, at)).toEqual({
      type: 'policy.shadow',
      time: at.time,
      requestId: 'req_1',
      actor: null,
      data: {
        requestId: 'req_1',
        principal: 'deploy-bot',
        connection: 'orders-db',
        operation: 'sql.query',
        live: { effect: 'allow', rules: ['reads'], approvers: [], policyHash: live.hash },
        candidate: { effect: 'error', rules: [], approvers: [], policyHash: compiled.hash, errors: [{ rule: '(candidate)', message: 'out of memory in the candidate' }] },
      },
    });
  });
});
