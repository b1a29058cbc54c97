import { describe, expect, it } from 'vitest';
import { inverseUndo, revertSql, type CapturedUndo } from './undo.ts';

const update: CapturedUndo = {
  status: 'captured',
  command: 'UPDATE',
  table: '"t"',
  keyColumns: ['id'],
  columns: ['id', 'n'],
  rows: [
    { key: { id: 1 }, before: { id: 1, n: 1 }, after: { id: 1, n: 10 } },
    { key: { id: 2 }, before: { id: 2, n: 2 }, after: { id: 2, n: 20 } },
  ],
};

describe('inverseUndo: the undo of a revert, from what its statement returned', () => {
  it('sets an UPDATE back to what the revert found, and turns a DELETE into an INSERT and back', () => {
    const inv = inverseUndo(update, [[{ id: 2 }, { id: 2, n: 2 }], [{ id: 1 }, { id: 1, n: 1 }]]);
    expect(inv).toEqual({ ...update, rows: [
      { key: { id: 1 }, before: { id: 1, n: 10 }, after: { id: 1, n: 1 } },
      { key: { id: 2 }, before: { id: 2, n: 20 }, after: { id: 2, n: 2 } },
    ] });
    const del: CapturedUndo = { ...update, command: 'DELETE', rows: [{ key: { id: 1 }, before: { id: 1, n: 1 } }] };
    const ins = inverseUndo(del, [[{ id: 1 }, { id: 1, n: 1 }]]);
    expect(ins).toMatchObject({ command: 'INSERT', rows: [{ key: { id: 1 }, after: { id: 1, n: 1 } }] });
    expect(inverseUndo(ins!, [[{ id: 1 }, { id: 1, n: 1 }]])).toMatchObject({ command: 'DELETE', rows: [{ key: { id: 1 }, before: { id: 1, n: 1 } }] });
    // Key objects compare canonically: jsonb orders a composite key's members its own way.
    const pair: CapturedUndo = { ...del, keyColumns: ['b', 'a'], rows: [{ key: { b: 'x', a: 1 }, before: { a: 1, b: 'x' } }] };
    expect(inverseUndo(pair, [[{ a: 1, b: 'x' }, { a: 1, b: 'x' }]])).toBeDefined();
  });

  it('keeps no undo unless every row came back exactly once', () => {
    expect(inverseUndo(update, [[{ id: 1 }, { id: 1, n: 1 }]])).toBeUndefined();
    expect(inverseUndo(update, [[{ id: 1 }, { id: 1, n: 1 }], [{ id: 1 }, { id: 1, n: 1 }]])).toBeUndefined();
    expect(inverseUndo(update, [[{ id: 1 }, { id: 1, n: 1 }], [{ id: 3 }, { id: 3, n: 3 }]])).toBeUndefined();
    expect(inverseUndo(update, null)).toBeUndefined();
    expect(inverseUndo(update, [[{ id: 1 }, 'x'], [{ id: 2 }, { id: 2 }]])).toBeUndefined();
  });

  it('writes an INSERT\'s revert as a DELETE of rows still as inserted', () => {
    const ins: CapturedUndo = { ...update, command: 'INSERT', rows: [{ key: { id: 1 }, after: { id: 1, n: 1 } }] };
    expect(revertSql(ins)).toContain('DELETE FROM "t" AS cur USING expected AS e WHERE jsonb_build_object(\'id\', cur."id") = e.key AND to_jsonb(cur.*) = e.after');
  });
});
