import { describe, expect, it } from 'vitest';
import { fitRows } from './terminal-rows.ts';

describe('fitRows', () => {
  it('breaks a line wider than the terminal, each further row behind the gutter', () => {
    expect(fitRows(`  claim       ${'x'.repeat(100)}`, 80, 14).split('\n')).toEqual([`  claim       ${'x'.repeat(66)}`, `              │ ${'x'.repeat(34)}`]);
  });

  it('counts a wide letter as two columns and a tab as eight, so no row is wider than the terminal', () => {
    const rows = fitRows(`  input       ${'中'.repeat(50)}\t${'x'.repeat(70)}`, 80, 14).split('\n');
    expect(rows.length).toBe(3);
    expect(rows[0]).toBe(`  input       ${'中'.repeat(33)}`);
    expect(rows.slice(1).every((r) => r.startsWith('              │ '))).toBe(true);
  });

  it('leaves the text as it is without a width, or with one too narrow for a gutter and some text', () => {
    const text = `  claim       ${'x'.repeat(100)}`;
    expect(fitRows(text, undefined, 14)).toBe(text);
    expect(fitRows(text, 30, 14)).toBe(text);
  });
});
