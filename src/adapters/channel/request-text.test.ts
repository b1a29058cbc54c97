/**
 * The impact preview on a chat card: Slack's message and Teams' card both
 * carry what a held write would change once the preview has landed, and
 * Slack's outcome message to the requesting side never does.
 */
import { describe, expect, it } from 'vitest';
import { requestRecord } from '../../../test/support/fixtures.ts';
import type { RequestRecord } from '../../core/request.ts';
import { boundInput, factsOf, inputText } from './request-text.ts';
import { outcomeDm, requestMessage } from './slack/message.ts';
import { requestCard } from './teams/card.ts';
import { heldRequestView } from './teams/view.ts';

const URL = 'https://countersign.example.com/requests/req_1';
const previewed: RequestRecord = requestRecord({
  preview: { status: 'previewed', at: '2026-01-01T00:00:01Z', statements: [{ command: 'UPDATE', table: 'orders', rows: 42, plan: 'Update on orders → Seq Scan on orders (estimated 40 rows, cost 12.5)' }] },
});

describe('impact preview on chat cards', () => {
  it('is a fact of its own once taken, with its plan', () => {
    expect(factsOf(requestRecord()).map((f) => f.label)).not.toContain('Impact');
    expect(factsOf(previewed)).toEqual(
      expect.arrayContaining([
        { label: 'Impact', value: 'would change 42 rows in table orders (UPDATE)' },
        { label: 'Plan', value: 'Update on orders → Seq Scan on orders (estimated 40 rows, cost 12.5)' },
      ]),
    );
  });

  it('shows on the Slack message and the Teams card', () => {
    expect(JSON.stringify(requestMessage(previewed, URL))).toContain('would change 42 rows in table orders (UPDATE)');
    expect(JSON.stringify(requestCard(heldRequestView(previewed), { publicUrl: 'https://countersign.example.com' }))).toContain('would change 42 rows in table orders (UPDATE)');
  });

  it('stays out of the outcome message to the requester', () => {
    expect(JSON.stringify(outcomeDm({ ...previewed, status: 'denied' }, URL))).not.toContain('would change');
  });
});

describe('a rule\'s undo: false on chat cards', () => {
  const noUndo: RequestRecord = requestRecord({ decision: { ...requestRecord().decision, noUndo: ['bulk-backfill'] } });

  it('tells the reviewers on Slack and Teams that it runs without undo, and which rule said so', () => {
    expect(factsOf(noUndo)).toContainEqual({ label: 'Undo', value: 'none: the policy says undo: false (rule bulk-backfill)' });
    expect(factsOf(requestRecord()).map((f) => f.label)).not.toContain('Undo');
    expect(JSON.stringify(requestMessage(noUndo, URL))).toContain('the policy says undo: false (rule bulk-backfill)');
    expect(JSON.stringify(requestCard(heldRequestView(noUndo), { publicUrl: 'https://countersign.example.com' }))).toContain('the policy says undo: false (rule bulk-backfill)');
  });
});

describe('COPY data on chat cards', () => {
  it('shows the size, line count, digest and start of the rows a COPY FROM STDIN loads', () => {
    const copy = { sha256: 'ab'.repeat(32), bytes: 14, lines: 1, preview: '1\tharmless\n\\.\n' };
    const r = requestRecord({ action: { connection: 'app-db', operation: 'sql.query', input: { sql: 'COPY t FROM STDIN', copy }, reason: 'load' } });
    // Apart from the statement, under a label of the gateway's: after it, a comment of the agent's could pass for it.
    expect(inputText(r)).toBe('COPY t FROM STDIN');
    expect(boundInput(r)).toEqual([{ label: 'COPY data', value: `14 bytes, 1 lines, sha256 ${'ab'.repeat(32)}; it starts:\n1\tharmless\n\\.\n` }]);
    expect(JSON.stringify(requestMessage(r, URL))).toContain('*COPY data*\\n```14 bytes');
    expect(JSON.stringify(requestCard(heldRequestView(r), { publicUrl: 'https://countersign.example.com' }))).toContain('"text":"14 bytes, 1 lines');
  });
});
