/**
 * docs/errors.md is the client's reference: one row per stable code, with the
 * HTTP status the surface really sends and the registry's own sentence.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../src/core/errors.ts';
import { HTTP_STATUS } from '../src/surfaces/http/errors.ts';

interface DocRow {
  code: string;
  status: number;
  meaning: string;
  todo: string;
}

/** Rows of the table whose first cell is a `CODE` in backticks. */
function docRows(markdown: string): DocRow[] {
  return markdown
    .split('\n')
    .filter((line) => /^\|\s*`[A-Z_]+`\s*\|/.test(line))
    .map((line) => {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      return {
        code: (cells[0] ?? '').replace(/`/g, ''),
        status: Number(cells[1]),
        meaning: cells[2] ?? '',
        todo: cells[3] ?? '',
      };
    });
}

const rows = docRows(readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8'));
const registry = Object.keys(ERROR_CODES) as ErrorCode[];
const isCode = (c: string): c is ErrorCode => Object.hasOwn(ERROR_CODES, c);

describe('docs/errors.md', () => {
  it('lists every code of the registry', () => {
    const documented = new Set(rows.map((r) => r.code));
    expect(registry.filter((c) => !documented.has(c))).toEqual([]);
  });

  it('lists no code that the registry does not have', () => {
    expect(rows.map((r) => r.code).filter((c) => !isCode(c))).toEqual([]);
  });

  it('lists each code once', () => {
    const seen = rows.map((r) => r.code);
    expect(seen.filter((c, i) => seen.indexOf(c) !== i)).toEqual([]);
  });

  it('gives each code the HTTP status the surface sends', () => {
    const wrong = rows.filter((r) => isCode(r.code) && r.status !== HTTP_STATUS[r.code]);
    expect(wrong.map((r) => `${r.code}: doc says ${r.status}, HTTP_STATUS says ${isCode(r.code) ? HTTP_STATUS[r.code] : '?'}`)).toEqual([]);
  });

  it("gives each code the registry's sentence and something a client can do", () => {
    for (const r of rows) {
      if (!isCode(r.code)) continue;
      expect(r.meaning, r.code).toBe(ERROR_CODES[r.code]);
      expect(r.todo.length, r.code).toBeGreaterThan(10);
    }
  });
});
