/**
 * What `countersign run` prints. Everything here came from the gateway (rows,
 * bodies, a command's output, reviewers' comments), so everything is shown
 * through `safe`: an ANSI escape in a row is printed as the text `\x1b[…`,
 * never sent raw to a terminal. `--json` keeps every value exact: JSON
 * escapes controls, and the hidden characters it would leave raw are escaped
 * as `\uXXXX` too.
 */
import { oneLine } from '../core/line-comments.ts';
import type { RequestView } from '../surfaces/sdk/client.ts';
import { safe, safeJson } from './output.ts';

/** What to write where: stdout carries the result alone, stderr the rest. */
export interface Printed {
  stdout: string;
  stderr: string;
}

/** A cell on one line: newlines and tabs named, like every other control. */
function cell(v: unknown): string {
  const text = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return safe(text.replace(/\n/g, '\\n').replace(/\t/g, '\\t'));
}

const width = (s: string) => [...s].length;
const pad = (s: string, n: number, right: boolean) => (right ? ' '.repeat(n - width(s)) + s : s + ' '.repeat(n - width(s)));

/**
 * Rows as psql draws them: a header, a rule, numbers to the right.
 *
 * @example
 * table(['id', 'note'], [[1, 'one']]); // ' id | note \n----+------\n  1 | one  '
 */
export function table(fields: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const head = fields.map(cell);
  const body = rows.map((r) => fields.map((_, i) => cell(r[i])));
  const widths = head.map((h, i) => Math.max(width(h), ...body.map((r) => width(r[i]!))));
  const numeric = fields.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null));
  const line = (cells: string[], right: (i: number) => boolean) => cells.map((c, i) => ` ${pad(c, widths[i]!, right(i))} `).join('|');
  return [line(head, () => false), widths.map((w) => '-'.repeat(w + 2)).join('+'), ...body.map((r) => line(r, (i) => numeric[i]!))].join('\n');
}

interface SqlStatementResult {
  command: string | null;
  rowCount: number | null;
  fields: string[];
  rows: unknown[][];
  truncated?: boolean;
}

function sqlText(result: { results?: SqlStatementResult[] }): Printed {
  const parts = (result.results ?? []).map((r) => {
    if (r.fields.length === 0) return safe(`${r.command ?? 'OK'}${r.rowCount !== null ? ` ${r.rowCount}` : ''}`);
    const n = r.rows.length;
    const footer = `(${n} row${n === 1 ? '' : 's'}${r.truncated ? `; cut at the connection's row limit, of ${r.rowCount ?? 'more'}` : ''})`;
    return `${table(r.fields, r.rows)}\n${safe(footer)}`;
  });
  return { stdout: parts.length ? `${parts.join('\n\n')}\n` : '', stderr: '' };
}

function httpText(result: { status?: number; contentType?: string; body?: unknown; truncated?: boolean; bodyWithheld?: unknown }): Printed {
  const body = result.body === undefined || result.body === null ? '' : typeof result.body === 'string' ? safe(result.body) : safeJson(result.body);
  const notes = [result.truncated ? 'body cut by the gateway' : '', result.bodyWithheld ? 'body withheld by the gateway (it held a credential of the connection)' : ''].filter(Boolean);
  return {
    stdout: body && !body.endsWith('\n') ? `${body}\n` : body,
    stderr: `${safe(`HTTP ${result.status ?? '?'}${result.contentType ? ` ${result.contentType}` : ''}${notes.length ? ` (${notes.join('; ')})` : ''}`)}\n`,
  };
}

function execText(result: { exitCode?: number | null; signal?: string | null; stdout?: string; stderr?: string }): Printed {
  return { stdout: safe(result.stdout ?? ''), stderr: safe(result.stderr ?? '') };
}

function mcpText(result: { content?: unknown; structuredContent?: unknown }): Printed {
  const items = Array.isArray(result.content) ? (result.content as { type?: string; text?: string }[]) : [];
  const shown = items.map((c) => (c.type === 'text' && typeof c.text === 'string' ? safe(c.text) : safeJson(c)));
  if (!shown.length && result.structuredContent !== undefined) shown.push(safeJson(result.structuredContent));
  const text = shown.join('\n');
  return { stdout: text && !text.endsWith('\n') ? `${text}\n` : text, stderr: '' };
}

/**
 * The result of a request that ran, for its connection's kind: a table of
 * rows, an HTTP body (its status on stderr), a command's stdout and stderr,
 * a tool's content. A failure that left no result of that shape (a SQL
 * error) prints nothing here: the outcome line says it.
 */
export function resultText(r: RequestView): Printed {
  const result = r.result as Record<string, unknown> | null | undefined;
  if (result === null || result === undefined || typeof result !== 'object') return { stdout: '', stderr: '' };
  switch (r.connection.kind) {
    case 'postgres':
      return Array.isArray(result['results']) ? sqlText(result as { results: SqlStatementResult[] }) : { stdout: '', stderr: '' };
    case 'http':
      return typeof result['status'] === 'number' ? httpText(result) : { stdout: '', stderr: '' };
    case 'exec':
      return 'stdout' in result || 'stderr' in result ? execText(result) : { stdout: '', stderr: '' };
    case 'mcp':
      return mcpText(result);
    default:
      return { stdout: `${safeJson(result)}\n`, stderr: '' };
  }
}

/** Who still has to approve: `1 from group sre (rule writes)`. */
export function approversText(r: RequestView): string {
  const remaining = r.approvals.remaining.map((x) => `${x.needed} from ${[...x.groups.map((g) => `group ${g}`), ...x.principals].join(' or ') || 'any human'} (rule ${x.rule})`);
  return remaining.join('; ') || `${r.approvals.needed} approval(s)`;
}

/**
 * The notice that an action is held: a few lines on a terminal, one line on
 * a pipe (a log keeps it whole).
 */
export function heldText(r: RequestView, tty: boolean): string {
  const link = r.links?.console;
  const review = link ? `${link} (or: countersign requests approve ${r.id})` : `countersign requests approve ${r.id}`;
  if (!tty) return `${safe(`countersign: held for approval as request ${r.id}; needs ${approversText(r)}; review: ${review}${r.expiresAt ? `; expires ${r.expiresAt}` : ''}`)}\n`;
  return `${safe(
    [
      `Held for approval: request ${r.id} (${r.action.connection}: ${r.action.operation})`,
      `  needs    ${approversText(r)}`,
      `  review   ${review}`,
      ...(r.expiresAt ? [`  expires  ${r.expiresAt}`] : []),
    ].join('\n'),
  )}\n`;
}

/** The live line on a terminal: `waiting 1:05 (pending: 1 from group sre (rule writes))`. */
export function tickerText(r: RequestView, elapsedMs: number): string {
  const s = Math.floor(elapsedMs / 1000);
  const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return safe(`waiting ${clock} (${r.status}${r.status === 'pending' ? `: ${approversText(r)}` : ''})`);
}

function deniedBy(r: RequestView): string {
  const no = r.reviews.filter((v) => v.verdict === 'deny');
  // A reviewer's words on the one line: a break in them would start a `countersign: …` line of their own.
  if (no.length) return `denied by ${no.map((v) => `${v.reviewer}${v.comment ? ` ("${oneLine(v.comment)}")` : ''}`).join(', ')}`;
  return `denied by policy${r.decision.rules.length ? ` (rules: ${r.decision.rules.join(', ')})` : ''}${r.decision.message ? `: ${r.decision.message}` : r.error ? `: ${r.error.message}` : ''}`;
}

/** How a request ended, for stderr; nothing for a plain success. `held` adds the id and who approved. */
export function outcomeText(r: RequestView, o: { held: boolean; waitedSeconds?: number }): string {
  const err = r.error ? `${r.error.code}: ${r.error.message}` : '';
  const approvedBy = r.reviews.filter((v) => v.verdict === 'approve').map((v) => v.reviewer);
  let line: string;
  switch (r.status) {
    case 'succeeded':
      if (!o.held) return '';
      line = `request ${r.id} succeeded${approvedBy.length ? ` (approved by ${approvedBy.join(', ')})` : ''}`;
      break;
    case 'failed':
      line = `request ${r.id} failed${err ? `: ${err}` : ''}`;
      break;
    case 'denied':
      line = `request ${r.id} ${deniedBy(r)}`;
      break;
    case 'expired':
      line = `request ${r.id} expired${r.expiresAt ? ` at ${r.expiresAt}` : ''}: nobody decided in time`;
      break;
    case 'cancelled':
      line = `request ${r.id} was cancelled${r.error ? `: ${r.error.message}` : ''}`;
      break;
    default:
      line = `request ${r.id} is still ${r.status}${o.waitedSeconds !== undefined ? ` after waiting ${o.waitedSeconds} s` : ''}; it keeps its state: countersign requests show ${r.id}`;
  }
  return `${safe(`countersign: ${line}`)}\n`;
}
