import { describe, expect, it } from 'vitest';
import { previewAuditData, previewLines } from './preview.ts';

const at = '2026-01-01T00:00:00Z';

describe('impact preview text', () => {
  it('says per statement how many rows in which table', () => {
    const p = { status: 'previewed' as const, at, statements: [{ command: 'UPDATE', table: 'accounts', rows: 1, plan: 'p' }, { command: 'DELETE', table: 'public.logs', rows: 40 }] };
    expect(previewLines(p)).toEqual(['would change 1 row in table accounts (UPDATE)', 'would change 40 rows in table public.logs (DELETE)']);
  });

  it('says why not, or that it failed and nothing was changed', () => {
    expect(previewLines({ status: 'skipped', at, reason: 'calls public.f, which could act outside the transaction' })).toEqual(['not previewed: calls public.f, which could act outside the transaction']);
    expect(previewLines({ status: 'failed', at, sqlstate: '55P03', reason: 'a lock it needs is held' })).toEqual(['preview failed (postgres 55P03): a lock it needs is held; nothing was changed']);
  });

  it('keeps counts and tables for the audit log, never the plan or an error text', () => {
    expect(previewAuditData({ status: 'previewed', statements: [{ command: 'UPDATE', table: 'accounts', rows: 3, plan: "Seq Scan … Filter: (name = 'secret')" }] })).toEqual({
      status: 'previewed',
      statements: [{ command: 'UPDATE', table: 'accounts', rows: 3 }],
    });
    expect(previewAuditData({ status: 'failed', sqlstate: '23505', reason: 'duplicate key value violates unique constraint' })).toEqual({ status: 'failed', sqlstate: '23505' });
  });
});
