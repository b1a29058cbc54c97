/**
 * Whether an EXPLAIN runs the statement it explains: with ANALYZE it does, so such an EXPLAIN is never a read.
 */
import { isObject, type Json, type JsonObject } from './parse-tree.ts';

/** EXPLAIN ANALYZE runs the statement; `ANALYZE`, `(ANALYZE)` and `(ANALYZE on)` all do. */
export function explainAnalyzes(payload: JsonObject): boolean {
  const options = Array.isArray(payload['options']) ? (payload['options'] as readonly Json[]) : [];
  return options.some((o) => {
    const def = isObject(o) ? o['DefElem'] : undefined;
    if (!isObject(def) || def['defname'] !== 'analyze') return false;
    return !isFalse(def['arg']);
  });
}

/** Option values the parser gives for false: `'false'`/`'off'`/`'no'`/`'0'`, or 0 (false values are omitted). */
function isFalse(arg: Json | undefined): boolean {
  const { String: str, Integer: int, Boolean: bool } = isObject(arg) ? arg : {};
  if (isObject(str)) return ['false', 'off', 'no', '0'].includes(String(str['sval']).toLowerCase());
  if (isObject(int)) return !int['ival'];
  return isObject(bool) && bool['boolval'] !== true;
}
