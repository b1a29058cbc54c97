/**
 * Small, pure readings of audit payloads for the evidence report: a one-line
 * summary of an action's input, whether a connection holds personal data,
 * and decision-time statistics. Payloads are read defensively — an event is
 * evidence as written, and a field of an unexpected type is shown as absent
 * rather than trusted.
 */
import type { TagValue } from '../../core/connection.ts';
import { commandWords } from '../../core/review-brief.ts';
import type { DecisionTimes } from './types.ts';

export type Json = Readonly<Record<string, unknown>>;

export function obj(v: unknown): Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const MAX_SUMMARY = 160;

function clip(s: string): string {
  return s.length > MAX_SUMMARY ? `${s.slice(0, MAX_SUMMARY - 1)}…` : s;
}

function shellWord(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(arg) ? arg : JSON.stringify(arg);
}

/**
 * One line that says what an action does: the SQL's first non-empty line,
 * `METHOD path`, the argv the gateway ran, or an MCP tool and its arguments.
 *
 * @example
 * inputSummary({ sql: 'UPDATE orders\nSET x = 1' }, {}); // 'UPDATE orders …'
 */
export function inputSummary(input: unknown, facts: unknown): string {
  const i = obj(input);
  const sql = str(i['sql']);
  if (sql !== null) {
    const lines = sql.split(/\r\n?|\n/).map((l) => l.trim()).filter((l) => l.length > 0);
    const line = `${lines[0] ?? ''}${lines.length > 1 ? ' …' : ''}`;
    // Only part of it shown: the parser's statement kinds first (deleting ones leading), so a DELETE on a later line
    // or past the cut is not read as the `SELECT … -- read-only report` it follows.
    const types = [...new Set(arr(obj(obj(facts)['sql'])['statements']).map((st) => str(obj(st)['type'])).filter((t): t is string => t !== null))];
    if (types.length === 0 || (lines.length <= 1 && line.length <= MAX_SUMMARY)) return clip(line);
    const rank = (t: string) => (['delete', 'truncate', 'drop'].includes(t) ? 0 : t === 'select' ? 2 : 1);
    return clip(`(${types.sort((a, b) => rank(a) - rank(b)).map((t) => t.toUpperCase()).join(', ')}) ${line}`);
  }
  const method = str(i['method']);
  if (method !== null) return clip(`${method.toUpperCase()} ${str(i['path']) ?? ''}`);
  const tool = str(i['tool']);
  if (tool !== null && typeof i['arguments'] === 'object') return clip(`${tool} ${JSON.stringify(i['arguments'])}`);
  const exec = obj(obj(facts)['exec']);
  const argv = strList(exec['argv']);
  const args = argv.length ? argv : strList(i['args']);
  if (args.length || Array.isArray(i['args'])) {
    const line = args.map(shellWord).join(' ');
    // Cut, it leads with the command and the words that are not options, as every review surface does: an agent's
    // long leading options (`--kubeconfig=<long path>`) would push `delete namespace prod` past the cut.
    const command = str(exec['command']);
    return clip(line.length > MAX_SUMMARY && argv.length && command !== null ? `(${commandWords({ argv, command })}) ${line}` : line);
  }
  return clip(JSON.stringify(input) ?? '');
}

/** Connection tags as written in the config, kept only where the value has a tag's type. */
export function tagsOf(v: unknown): Record<string, TagValue> {
  const out: Record<string, TagValue> = {};
  for (const [k, t] of Object.entries(obj(v))) {
    if (typeof t === 'string' || typeof t === 'number' || typeof t === 'boolean') out[k] = t;
    else if (Array.isArray(t)) out[k] = strList(t);
  }
  return out;
}

function values(t: TagValue | undefined): string[] {
  if (t === undefined) return [];
  return (Array.isArray(t) ? t : [String(t)]).map((x) => String(x).toLowerCase());
}

/**
 * Personal data, for GDPR: the tag `data` is `pii` or `personal`, or the tag
 * `compliance` names `gdpr`.
 *
 * @example
 * isPersonalData({ env: 'prod', compliance: ['soc2', 'gdpr'] }); // true
 */
export function isPersonalData(tags: Readonly<Record<string, TagValue>>): boolean {
  return values(tags['data']).some((v) => v === 'pii' || v === 'personal') || values(tags['compliance']).includes('gdpr');
}

/**
 * Median (the mean of the middle two for an even count) and the 90th
 * percentile by nearest rank, so p90 is always a time that was observed.
 *
 * @example
 * decisionTimes([1000, 3000]); // { count: 2, medianMs: 2000, p90Ms: 3000, maxMs: 3000 }
 */
export function decisionTimes(ms: readonly number[]): DecisionTimes {
  const s = [...ms].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { count: 0, medianMs: null, p90Ms: null, maxMs: null };
  const mid = Math.floor(n / 2);
  const median = n % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { count: n, medianMs: median, p90Ms: s[Math.ceil(0.9 * n) - 1]!, maxMs: s[n - 1]! };
}
