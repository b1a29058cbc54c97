/**
 * docs/errors.md is the client's reference: one row per stable code, with the
 * HTTP status the surface really sends and the registry's own sentence.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '../src/core/errors.ts';
import { REFUSAL_REASONS } from '../src/core/refusals.ts';
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

const markdown = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const rows = docRows(markdown);
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

/** Every source file under src/, but tests: what a client can be sent is written there. */
function sources(dir = new URL('../src', import.meta.url).pathname): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [{ file: path, text: readFileSync(path, 'utf8') }] : [];
  });
}

/** `group 1` of every match of each pattern, with where it was found. */
function literals(patterns: RegExp[]): { value: string; file: string }[] {
  return sources().flatMap(({ file, text }) => patterns.flatMap((re) => [...text.matchAll(re)].map((m) => ({ value: m[1]!, file }))));
}

describe('codes and reasons written in the source', () => {
  it('are all in the registry: every code a surface, a request or an audit event carries', () => {
    const used = literals([/\bcode:\s*'([A-Z][A-Z0-9_]+)'/g, /\bcode\s*=\s*'([A-Z][A-Z0-9_]+)'/g, /CountersignError\(\s*'([A-Z][A-Z0-9_]+)'/g, /errorResponse\(\s*\d+,\s*'([A-Z][A-Z0-9_]+)'/g, /\brefuse\(\s*'([A-Z][A-Z0-9_]+)'/g]);
    // The typed client's own codes for an answer that is not the gateway's error object.
    const clientOnly = new Set(['INVALID_RESPONSE', 'HTTP_ERROR']);
    expect(used.filter((u) => !isCode(u.value) && !clientOnly.has(u.value)).map((u) => `${u.value} in ${u.file}`)).toEqual([]);
  });

  it('are all registered refusal reasons: every reason a refused credential or channel call is given', () => {
    const used = literals([/\breason:\s*'([a-z]+\.[a-z_]+)'/g, /\brefuse\(\s*'([a-z]+\.[a-z_]+)'/g, /\brefuse\(deps, click, '([a-z]+\.[a-z_]+)'/g]);
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((u) => !Object.hasOwn(REFUSAL_REASONS, u.value)).map((u) => `${u.value} in ${u.file}`)).toEqual([]);
  });
});

describe('docs/errors.md, refusal reasons', () => {
  const reasonRows = markdown
    .split('\n')
    .filter((line) => /^\|\s*`[a-z_]+\.[a-z_]+`\s*\|/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((c) => c.trim()))
    .map(([reason, meaning]) => ({ reason: (reason ?? '').replace(/`/g, ''), meaning: meaning ?? '' }));

  it("lists every registered reason once, with the registry's sentence, and nothing else", () => {
    expect(reasonRows.map((r) => r.reason).sort()).toEqual(Object.keys(REFUSAL_REASONS).sort());
    for (const r of reasonRows) expect(r.meaning, r.reason).toBe(REFUSAL_REASONS[r.reason as keyof typeof REFUSAL_REASONS]);
  });
});

describe('the typed client', () => {
  it('knows exactly the codes of the registry', () => {
    const client = readFileSync(new URL('../src/surfaces/sdk/views.ts', import.meta.url), 'utf8');
    const union = /export type ErrorCode =([^;]*);/.exec(client)?.[1] ?? '';
    expect([...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]).sort()).toEqual([...registry].sort());
  });
});
