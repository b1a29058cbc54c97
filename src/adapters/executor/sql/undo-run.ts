/**
 * The captured run of an approved write (undo-capture.ts), in a transaction
 * the connection has opened REPEATABLE READ and checked. Returns what the
 * agent gets — the statement's own command tag and count, never the captured
 * rows — and the undo to store; or, past `maxRows`, a refusal the caller turns
 * into a rollback.
 */
import type { PoolClient, QueryConfig } from 'pg';
import { inverseUndo, revertSql, type CapturedUndo, type UndoOutcome, type UndoRow } from '../../../core/undo.ts';
import { captureShapeOk, captureSql, UNDO_TABLE_SQL, undoTableRefusal, type UndoTableRow, type UndoTarget } from './undo-capture.ts';

export type CapturedRun =
  | { readonly kind: 'ran'; readonly command: string; readonly rowCount: number; readonly undo: UndoOutcome }
  /** The table or statement turned out to have no undo: the caller runs the statement as it is. */
  | { readonly kind: 'uncaptured'; readonly reason: string }
  | { readonly kind: 'too-many'; readonly rows: number }
  /** The capture could not be shown to be right (a trigger changed a key, a row had no before-image): the caller rolls back. */
  | { readonly kind: 'unproven'; readonly reason: string };

type Call = <T>(run: Promise<T>) => Promise<T>;

/** Every column as the server's text: jsonb is parsed here, so a number the undo cannot hold exactly is seen (exactJson). */
const AS_TEXT = { getTypeParser: () => (value: string) => value } as unknown as NonNullable<QueryConfig['types']>;

/**
 * JSON text as jsonb printed it, parsed; undefined when a number in it is not exactly the JavaScript number it reads
 * as (a bigint past 2^53, a numeric of 20 digits): a revert would write that other number back.
 *
 * @example
 * exactJson('{"id": 1.50}'); // { id: 1.5 }
 * exactJson('{"id": 9007199254740993}'); // undefined
 */
export function exactJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Strings are matched first, so only the number tokens outside them are captured.
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g)) {
    if (m[1] !== undefined && decimal(m[1]) !== decimal(String(Number(m[1])))) return undefined;
  }
  return value;
}

/** A decimal number's value as digits and exponent, without the zeros that do not change it ('1.50' and '15e-1' alike). */
function decimal(token: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(token);
  if (!m) return token;
  const frac = m[3] ?? '';
  const digits = (m[2]! + frac).replace(/^0+/, '');
  let cut = digits.length; // a scan, not /0+$/: that is quadratic on a long run of zeros inside a numeric's digits
  while (cut > 0 && digits.charCodeAt(cut - 1) === 0x30) cut--;
  const trimmed = digits.slice(0, cut);
  if (trimmed === '') return '0';
  return `${m[1]}${trimmed}e${Number(m[4] ?? 0) - frac.length + digits.length - trimmed.length}`;
}

const LOSSY = 'a value is a number JSON in JavaScript cannot hold exactly (a bigint past 2^53, a long numeric)';

/**
 * @example
 * const run = await runCaptured(client, call, target, params, 1000);
 */
export async function runCaptured(client: PoolClient, call: Call, target: UndoTarget, params: readonly unknown[], maxRows: number): Promise<CapturedRun> {
  const table = await call(client.query<UndoTableRow>(UNDO_TABLE_SQL, [target.relation]));
  const refused = undoTableRefusal(table.rows[0], target);
  if (refused) return { kind: 'uncaptured', reason: refused };
  const { keys, columns } = table.rows[0]!;
  const sql = captureSql(target, keys, maxRows + 1);
  if (!captureShapeOk(sql, target.command)) return { kind: 'uncaptured', reason: 'the statement could not be rewritten to capture its rows' };
  const res = await call(
    client.query<{ total: string; before: string | null; after: string }>(params.length > 0 ? { text: sql, values: [...params], types: AS_TEXT } : { text: sql, types: AS_TEXT }),
  );
  const total = Number(res.rows[0]?.total ?? 0);
  if (total > maxRows) return { kind: 'too-many', rows: total };
  const rows: UndoRow[] = [];
  for (const text of res.rows) {
    const r = { before: text.before === null ? null : exactJson(text.before), after: exactJson(text.after) } as { before: Record<string, unknown> | null | undefined; after: Record<string, unknown> | undefined };
    // The change ran and stands; only its undo is not kept.
    if (r.before === undefined || r.after === undefined) return { kind: 'ran', command: target.command, rowCount: total, undo: { status: 'none', reason: LOSSY } };
    // An UPDATE's before-image is looked up by the new row's key: a row not found, or a key a trigger changed, fails the run rather than guess.
    if (!r.before) return { kind: 'unproven', reason: 'a changed row had no before-image' };
    const key = Object.fromEntries(keys.map((k) => [k, r.before![k]]));
    if (target.command === 'UPDATE' && keys.some((k) => JSON.stringify(r.before![k]) !== JSON.stringify(r.after![k]))) {
      return { kind: 'unproven', reason: 'a trigger changed a primary key' };
    }
    rows.push(target.command === 'UPDATE' ? { key, before: r.before, after: r.after } : { key, before: r.before });
  }
  return {
    kind: 'ran',
    command: target.command,
    rowCount: total,
    undo: { status: 'captured', command: target.command, table: target.relation, keyColumns: keys, columns, rows },
  };
}

export type RevertRun =
  | { readonly kind: 'ran'; readonly restored: number; readonly undo: CapturedUndo }
  | { readonly kind: 'too-many'; readonly rows: number }
  /** The statement came back with other rows than the undo it reverts: the caller rolls back rather than guess. */
  | { readonly kind: 'unproven'; readonly reason: string };

/**
 * Runs a revert whose statement is exactly `reverting`'s revertSql, in the connection's open transaction, and
 * reads its own undo from what the statement wrote (core/undo.ts inverseUndo). A conflict throws as the statement does.
 *
 * @example
 * const run = await runRevert(client, call, original.undo, 1000);
 */
export async function runRevert(client: PoolClient, call: Call, reverting: CapturedUndo, maxRows: number): Promise<RevertRun> {
  if (reverting.rows.length > maxRows) return { kind: 'too-many', rows: reverting.rows.length };
  const res = await call(client.query<{ restored_rows: string; restored_images: string | null }>({ text: revertSql(reverting), types: AS_TEXT }));
  const row = res.rows[0];
  const images = row?.restored_images ? exactJson(row.restored_images) : undefined;
  const undo = row && Number(row.restored_rows) === reverting.rows.length ? inverseUndo(reverting, images) : undefined;
  if (!undo) return { kind: 'unproven', reason: 'the rows it restored are not the rows of the undo' };
  return { kind: 'ran', restored: reverting.rows.length, undo };
}
