/**
 * Terminal output. Agent-supplied text is untrusted: control characters
 * (ANSI escapes that could redraw the screen and fake a request) are shown
 * escaped, never interpreted.
 */
import { boundedJson, cutText, PREVIEW_LINES, previewText as textPreview } from '../core/bounded-text.ts';
import { previewLines } from '../core/preview.ts';
import { isLookAlike } from '../core/look-alike.ts';
import { lineCommentEnds, oneLine } from '../core/line-comments.ts';
import { nameText } from '../core/name-text.ts';
import { commandWords, statementKinds } from '../core/review-brief.ts';
import { hasHidden, replaceHidden } from '../core/visible-text.ts';
import { sessionText } from '../core/session-shown.ts';
import type { RequestView } from '../surfaces/sdk/client.ts';

/**
 * Makes text safe to print: every control but newline and tab, bidi mark,
 * zero-width or other hidden character (core/visible-text.ts) is named
 * instead: `\\x1b`, `\\u{202e}`.
 */
export function safe(text: string): string {
  return replaceHidden(text, (c) => {
    const n = c.codePointAt(0) ?? 0;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/**
 * JSON with every hidden character escaped (`\u009b`, `\u202e`), so it prints harmlessly and parses back to the same
 * value: JSON escapes C0 controls, but leaves a C1 control (U+009B, an 8-bit CSI) or a bidi override raw. `--json`
 * output goes through it, as the text does through `safe`.
 *
 * @example
 * safeJson({ reason: 'a\u202eb' }, 0); // '{"reason":"a\\u202eb"}'
 */
export function safeJson(value: unknown, indent = 2): string {
  return replaceHidden(JSON.stringify(value, null, indent) ?? 'null', (c) =>
    c
      .split('')
      .map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/** Input shown before it is cut; `--json` prints all of it. */
const INPUT_SHOWN = 16_384;
/** Characters of the agent's reason shown, as on the console and the chat cards. */
const CLAIM_PREVIEW = 300;

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function tagsLine(tags: Record<string, unknown>): string {
  const parts = Object.entries(tags).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return parts.length ? parts.join('  ') : '(none)';
}

/** The exact input, as a reviewer should read it. */
export function inputText(r: RequestView): string {
  const input = r.action.input as Record<string, unknown>;
  // The values bound to it are boundLines', on lines of their own.
  if (typeof input['sql'] === 'string') return input['sql'];
  if (typeof input['method'] === 'string') {
    const pairs = Object.entries((input['query'] as Record<string, string | string[]> | undefined) ?? {}).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]),
    );
    const query = pairs.length ? `?${new URLSearchParams(pairs).toString()}` : '';
    const headers = Object.entries((input['headers'] as Record<string, string> | undefined) ?? {}).map(([k, v]) => `${k}: ${v}`);
    const body = input['body'] === undefined ? [] : [typeof input['body'] === 'string' ? input['body'] : boundedJson(input['body'], 2 * INPUT_SHOWN).text];
    return [`${input['method']} ${input['path']}${query}`, ...headers, ...body].join('\n');
  }
  if (Array.isArray(input['args'])) {
    const argv = (r.facts['exec'] as { argv?: string[] } | undefined)?.argv ?? (input['args'] as string[]);
    return argv.map(shellQuote).join(' ');
  }
  // The upstream names its tools: on its own line, quoted, a name cannot go on as arguments (channel/request-text.ts).
  if (typeof input['tool'] === 'string') return `tool ${oneLine(nameText(input['tool']))}\narguments: ${boundedJson(input['arguments'] ?? {}, 2 * INPUT_SHOWN).text}`;
  return boundedJson(input, 2 * INPUT_SHOWN).text;
}

/** Agent text under a label: each further line behind a gutter, so none passes for a line of ours (`  facts  writes=false`). */
function agentLines(text: string, by: number): string {
  return text.replace(/\r\n?/g, '\n').split('\n').join(`\n${' '.repeat(by)}│ `);
}

/**
 * A SQL action's parameters (`$1 = "x"`, each as JSON so on one line) and COPY data (size, digest, its start behind
 * the gutter), each under a label of ours: after the SQL, a `-- params: [100]` comment of the agent's could stand in
 * for them, and a long statement push them past the cut.
 */
function boundLines(r: RequestView): string[] {
  const input = r.action.input as Record<string, unknown>;
  if (typeof input['sql'] !== 'string') return [];
  const params = Array.isArray(input['params']) ? (input['params'] as unknown[]) : [];
  const listed = params.slice(0, 100).map((p, i) => {
    const v = cutText(JSON.stringify(p) ?? 'null', 1000);
    return `$${i + 1} = ${v.text}${v.cut ? '…' : ''}`;
  });
  const more = params.length > listed.length ? [`… and ${params.length - listed.length} more: \`--json\` prints them all`] : [];
  const copy = input['copy'] as { bytes: number; lines: number; sha256: string; preview: string } | undefined;
  return [
    ...(listed.length ? [`  params      ${agentLines([...listed, ...more].join('\n'), 14)}`] : []),
    ...(copy ? [`  copy data   ${copy.bytes} bytes, ${copy.lines} lines, sha256 ${copy.sha256}; it starts:\n${' '.repeat(14)}│ ${agentLines(copy.preview.replace(/\n$/, ''), 14)}`] : []),
  ];
}

/**
 * The start of the agent's reason, as much as the console and the chat cards show before "show more": 4,000
 * characters of lines would push the request's own lines (who asked, on which connection) off the screen.
 */
function claimShown(reason: string): string {
  const head = textPreview(reason, CLAIM_PREVIEW, PREVIEW_LINES);
  return head.cut ? `${head.text}…\n… ${reason.length.toLocaleString('en')} characters in all: \`--json\` prints the whole reason` : reason;
}

/** The input, cut at INPUT_SHOWN characters with a line saying so. */
function inputShown(r: RequestView): string {
  const c = cutText(inputText(r), INPUT_SHOWN);
  return c.cut ? `${c.text}…\n[truncated at ${INPUT_SHOWN} characters: \`--json\` prints the whole input]` : c.text;
}

function factsText(r: RequestView): string {
  const f = r.facts as Record<string, any>;
  const parts = [`writes=${f['writes']}`];
  if (f['kind'] === 'postgres') {
    const sql = f['sql'];
    parts.push(`statements=${sql.statements.map((s: { type: string }) => s.type).join(',')}`, `tables=${sql.tables.map(nameText).join(',') || '-'}`, `readOnly=${sql.readOnly}`);
    if (sql.ddl) parts.push('ddl');
    if (sql.privilege) parts.push('privilege');
    if (sql.unboundedWrite) parts.push('UPDATE/DELETE without WHERE');
  } else if (f['kind'] === 'http') {
    parts.push(`method=${f['http'].method}`, `path=${f['http'].path}`);
  } else if (f['kind'] === 'exec') {
    parts.push(`command=${f['exec'].command}`, `subcommand=${f['exec'].subcommand || '-'}`);
  } else if (f['kind'] === 'mcp') {
    const a = f['mcp'].annotations;
    parts.push(`tool=${nameText(f['mcp'].tool)}`, `readOnly=${a.readOnlyHint}`, `destructive=${a.destructiveHint}`, `openWorld=${a.openWorldHint}`);
    if (f['mcp'].toolChanged) parts.push('TOOL DEFINITION CHANGED since it was pinned');
  }
  // The review brief's `look-alike name` risk, which the API view does not carry: `public.оrders` is not the orders table.
  const names: unknown[] = f['kind'] === 'postgres' ? [...(f['sql'].tables ?? []), ...(f['sql'].functions ?? [])] : f['kind'] === 'http' ? [f['http'].path] : f['kind'] === 'mcp' ? [f['mcp'].tool] : (f['exec']?.argv ?? []);
  if (names.some((n) => typeof n === 'string' && isLookAlike(n))) parts.push('look-alike name (a letter of another script or a compatibility form: check the name)');
  // The review brief's `hidden characters` risk: each is named above (`\u{202e}`), easy to read past in a long input.
  if (hasHidden(r.action.input) || hasHidden(r.action.reason)) parts.push('hidden characters (controls, bidi or zero-width, named as \\u{…} above)');
  // The review brief's `session state` risk.
  if (r.session) parts.push('session state (its session reads the text otherwise than a new one: see session above)');
  // One line: a quoted identifier or an argument may hold a break (`"orders\napprovals   none needed"`), which would
  // start a line that reads as one of ours. Shown as ` ⏎ `, as the cards show it (channel/request-text.ts factsOf).
  return oneLine(parts.join('  '));
}

function timeLeft(expiresAt: string | null): string {
  if (!expiresAt) return '';
  const s = Math.round((Date.parse(expiresAt) - Date.now()) / 1000);
  if (s <= 0) return ` (expired at ${expiresAt})`;
  return ` (expires in ${s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m` : `${s}s`}, ${expiresAt})`;
}

/** The preview's lines (table names come from the agent's SQL: behind the gutter, as agent text is). */
function previewText(p: NonNullable<RequestView['preview']>): string {
  const plans = p.status === 'previewed' ? p.statements.map((s) => (s.plan ? `\n  plan: ${s.plan}` : '')) : [];
  return agentLines(previewLines(p).map((l, i) => `${l}${plans[i] ?? ''}`).join('\n'), 14);
}

/** Everything a reviewer needs, in one screen. */
export function requestDetails(r: RequestView): string {
  const who = `${r.principal.id} (${r.principal.kind})${r.principal.actsFor ? ` acting for ${r.principal.actsFor}` : ''}`;
  const remaining = r.approvals.remaining
    .map((x) => `${x.needed} from ${[...x.groups.map((g) => `group ${g}`), ...x.principals].join(' or ') || 'any human'} (rule ${x.rule})`)
    .join('; ');
  const lines = [
    `Request ${r.id} — ${r.status}${r.status === 'pending' ? timeLeft(r.expiresAt) : ''}`,
    `  asked by    ${who}`,
    `  connection  ${r.connection.name} (${r.connection.kind})   tags: ${tagsLine(r.connection.tags)}`,
    // The agent's own words, bound to nothing it runs: said so, and every line of them behind the gutter.
    `  claim       the agent's words, unverified:\n${' '.repeat(14)}│ ${agentLines(claimShown(r.action.reason), 14)}`,
    `  input       ${agentLines(inputShown(r), 14)}`,
    ...boundLines(r),
    // What the wire session changed reads the same text otherwise (DateStyle, a temporary orders): under a label of ours.
    ...(r.session ? [`  session     differs from a new one:\n${' '.repeat(14)}│ ${agentLines(sessionText(r.session), 14)}`] : []),
    `  facts       ${factsText(r)}`,
    ...(r.preview ? [`  impact      ${previewText(r.preview)}`] : []),
    `  rules       ${r.decision.rules.join(', ') || '(none matched: default)'} → ${r.decision.effect}${r.decision.message ? ` — ${r.decision.message}` : ''}`,
    ...(r.status === 'pending' ? [`  approvals   ${remaining ? `still needed: ${remaining}` : 'none needed'}`] : []),
    ...(r.stepUp === 'webauthn' ? ['  step-up     each approval is confirmed with a passkey on the request\'s console page'] : []),
    // A reviewer's comment is a person's words, read by the next reviewer: on one line, so a break in it cannot start
    // a line that reads as one of ours (`  approvals   still needed: none`).
    `  reviews     ${r.reviews.map((v) => `${v.verdict} by ${v.reviewer} at ${v.at}${v.comment ? ` ("${oneLine(v.comment)}")` : ''}`).join('\n              ') || '—'}`,
    ...(r.escalation ?? []).map((x, i) => `${i === 0 ? '  escalation  ' : '              '}after ${x.afterSeconds}s to ${[...x.groups.map((g) => `group ${g}`), ...x.principals].join(', ')}: ${x.firedAt ? `fired ${x.firedAt}` : `due ${x.dueAt}`}`),
    ...(r.breakGlass
      ? [
          `  break-glass by ${r.breakGlass.by} at ${r.breakGlass.at}: ${agentLines(r.breakGlass.justification, 14)}`,
          `  reviewed    ${r.breakGlass.review ? `${r.breakGlass.review.verdict} by ${r.breakGlass.review.by} at ${r.breakGlass.review.at}` : 'not yet (it needs an after-the-fact review)'}`,
        ]
      : []),
    ...(r.grant ? [`  grant       ${r.grant.id}: the next ${r.grant.uses} of its shape until ${r.grant.expiresAt}`] : []),
    ...(r.grantedBy ? [`  granted by  ${r.grantedBy.grantId}, use ${r.grantedBy.use} of ${r.grantedBy.of} (no review)`] : []),
    `  digest      ${r.digest}`,
    `  policy      ${r.decision.policyHash}`,
    ...(r.error ? [`  error       ${r.error.code}: ${agentLines(cutText(r.error.message, 4000).text, 14)}`] : []),
    ...(r.result !== null && r.result !== undefined ? [`  result      ${agentLines(boundedJson(r.result, 4000).text, 14)}`] : []),
    ...(r.reviewable ? [`  you         ${r.reviewable.reviewable ? 'may review this request' : `cannot review: ${r.reviewable.why}`}`] : []),
  ];
  return safe(lines.join('\n'));
}

/** Input characters a list line shows. */
const SUMMARY_MAX = 60;

/**
 * The input on one line: every run of whitespace (newlines too) one space, so
 * a second statement is never hidden behind the first line's end, and a cut
 * says how much it left out and where to read it. A cut command leads with
 * the command and the words that are not options, a cut statement with its
 * kinds, deleting ones first (core/review-brief.ts).
 */
function summaryOf(r: RequestView): string {
  // A line comment's end is marked (core/line-comments.ts): flattened, what runs after it read as commented out.
  const text = typeof (r.action.input as Record<string, unknown>)['sql'] === 'string' ? lineCommentEnds(inputText(r)) : inputText(r);
  const flat = text.replace(/[\t\n\r\p{Zs}]+/gu, ' ').trim();
  const c = cutText(flat, SUMMARY_MAX);
  if (!c.cut) return c.text;
  // Cut argv could end in its leading options (`--kubeconfig=<long path>`): what runs goes first, as on every channel.
  // So do a cut statement's kinds: a `SELECT 1;` whose DELETE was padded past the cut read as a SELECT.
  const input = r.action.input as Record<string, unknown>;
  const exec = r.facts['exec'] as { argv?: string[]; command?: string } | undefined;
  const statements = (r.facts['sql'] as { statements?: { type: string }[] } | undefined)?.statements;
  const lead =
    Array.isArray(input['args']) && exec?.argv?.length ? `(${commandWords({ argv: exec.argv, command: exec.command ?? '' })}) `
    : typeof input['sql'] === 'string' && Array.isArray(statements) ? `(${statementKinds(statements)}) `
    : '';
  return `${lead}${c.text}… (+${flat.length - c.text.length} characters: requests show ${r.id})`;
}

/** One line per request for lists. */
export function requestLine(r: RequestView): string {
  const summary = summaryOf(r);
  return safe(`${r.id}  ${r.status.padEnd(9)}  ${r.principal.id}${r.principal.actsFor ? `→${r.principal.actsFor}` : ''}  ${r.connection.name}  ${summary}  needs ${r.approvals.needed}`);
}
