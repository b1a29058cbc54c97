/**
 * Whether a statement string is a COPY … FROM STDIN, and how its data is
 * framed: the wire listener reads that data itself, before the statement is
 * judged, so that the rows are part of the action (surfaces/pg/copy-in.ts).
 */
import { OFFLOAD_MIN_CHARS, sqlOffload } from './analysis-offload.ts';
import { sqlParser } from './sql-parser.ts';

export interface CopyInShape {
  /** Statements in the string (a COPY FROM STDIN among others is refused: its data would be no one's). */
  readonly statements: number;
  /** FORMAT binary (CopyInResponse's overall format 1), else text or csv (0). */
  readonly binary: boolean;
  /** Columns the statement names (0 when it names none: the table's, which the gateway does not look up). */
  readonly columns: number;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});

/**
 * The shape of the first COPY FROM STDIN in `sql`, or undefined when it has
 * none (or does not parse: then nothing runs, since its facts cannot be derived).
 * Text without the letters of COPY is not parsed (keywords have no other spelling).
 *
 * @example
 * copyInShape('COPY t (a, b) FROM STDIN (FORMAT csv)'); // { statements: 1, binary: false, columns: 2 }
 */
export function copyInShape(sql: string): CopyInShape | undefined {
  if (!/copy/i.test(sql)) return undefined;
  let stmts: unknown[];
  try {
    stmts = (sqlParser().parseSync(sql) as { stmts?: unknown[] }).stmts ?? [];
  } catch {
    return undefined;
  }
  for (const s of stmts) {
    const copy = obj(obj(obj(s)['stmt'])['CopyStmt']);
    // FROM STDIN: is_from with neither a file nor a program.
    if (copy['is_from'] !== true || copy['filename'] !== undefined || copy['is_program'] === true) continue;
    const options = Array.isArray(copy['options']) ? copy['options'] : [];
    const binary = options.some((o) => {
      const d = obj(obj(o)['DefElem']);
      return d['defname'] === 'format' && String(obj(obj(d['arg'])['String'])['sval'] ?? '').toLowerCase() === 'binary';
    });
    const columns = Array.isArray(copy['attlist']) ? copy['attlist'].length : 0;
    return { statements: stmts.length, binary, columns };
  }
  return undefined;
}

/**
 * copyInShape, at once for a short text; a long one is parsed on the worker thread (analysis-offload.ts). A long text
 * not parsed in time has no shape here: its facts cannot be derived in time either, so nothing runs. `owner`: the
 * principal whose share of the worker it takes (analysis-offload.ts), as its facts would.
 *
 * @example
 * const s = copyInShapeSoon(sql, principal.id);
 * const shape = s instanceof Promise ? await s : s;
 */
export function copyInShapeSoon(sql: string, owner?: string): CopyInShape | undefined | Promise<CopyInShape | undefined> {
  if (!/copy/i.test(sql) || sql.length <= OFFLOAD_MIN_CHARS) return copyInShape(sql);
  return sqlOffload.run({ op: 'copyIn', sql }, owner).then(
    (v) => (v as CopyInShape | undefined) ?? undefined,
    () => undefined,
  );
}
