/**
 * A request as plain text, for every chat channel: the exact input as the
 * gateway will run it, the derived facts as label/value pairs, what approvals
 * are still needed and a short result. Nothing here escapes anything; each
 * channel makes the text inert its own way (Slack escapes mrkdwn, Teams puts
 * it in plain-text runs).
 */
import { redactInput } from '../../core/action.ts';
import { boundedJson, cutText } from '../../core/bounded-text.ts';
import { previewLines } from '../../core/preview.ts';
import type { RequestRecord } from '../../core/request.ts';
import { remainingApprovals } from '../../core/review.ts';
import { approversOf, ladderOf } from '../../core/escalation.ts';
import { durationText } from '../../core/duration-text.ts';
import { SESSION_LABEL, sessionShown, sessionText } from '../../core/session-shown.ts';
import { oneLine } from '../../core/line-comments.ts';
import { nameText } from '../../core/name-text.ts';

/** Longest input text a channel is given; each cuts it further to its own limits. */
export const INPUT_TEXT_MAX = 32_768;

/**
 * The input exactly as the gateway will run it (header values of HTTP calls
 * masked, as in the audit log; a SQL action's bound values are boundInput's),
 * at most INPUT_TEXT_MAX characters: JSON is
 * pretty-printed only as far as that, so a deeply nested input costs no more
 * than a flat one.
 *
 * @example
 * inputText(record); // "POST /invoices\n\n{ \"amount\": 12 }"
 */
export function inputText(r: RequestRecord): string {
  return cutText(fullInputText(r), INPUT_TEXT_MAX).text;
}

const pretty = (v: unknown) => boundedJson(v, INPUT_TEXT_MAX).text;

function fullInputText(r: RequestRecord): string {
  const input = redactInput(r.action.input);
  // The values bound to it are not part of the text: boundInput() gives them, for a place of their own.
  if ('sql' in input) return input.sql;
  // The upstream names its tools: a name on its own line, quoted, cannot go on as arguments of another call.
  if ('tool' in input) return `MCP tool ${oneLine(nameText(input.tool))}\n${pretty(input.arguments)}`;
  if ('args' in input) return input.args.map((a) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  const query = input.query ? `?${new URLSearchParams(Object.entries(input.query).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]))).toString()}` : '';
  const headers = Object.entries(input.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
  const body = input.body === undefined ? [] : ['', typeof input.body === 'string' ? input.body : pretty(input.body)];
  return [`${input.method} ${input.path}${query}`, ...headers, ...body].join('\n');
}

/**
 * The values a SQL action binds, apart from its text: its parameters (one
 * `$n = value` line each, the value as JSON so it is one line) and its COPY
 * data (size, digest and start). Each channel shows them under a label of
 * its own, never after the SQL: a `-- params: [100]` comment is valid SQL,
 * and with a long enough statement the real line would fall past the cut.
 * Then, for a statement from a wire session, how that session differs from
 * a new one (core/session-shown.ts): the settings and objects that give the
 * same text another meaning.
 * Each value is at most INPUT_TEXT_MAX characters.
 *
 * @example
 * boundInput(record); // [{ label: 'Parameters', value: '$1 = "shipped"\n$2 = 42' }]
 */
export function boundInput(r: Pick<RequestRecord, 'action'> & Partial<Pick<RequestRecord, 'context'>>): { label: BoundLabel; value: string }[] {
  const input = r.action.input;
  if (!('sql' in input)) return [];
  const out: { label: BoundLabel; value: string }[] = [];
  const params = input.params ?? [];
  if (params.length) {
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; i < params.length && size <= INPUT_TEXT_MAX; i++) {
      const line = `$${i + 1} = ${JSON.stringify(params[i]) ?? 'null'}`;
      lines.push(line);
      size += line.length + 1;
    }
    out.push({ label: 'Parameters', value: cutText(lines.join('\n'), INPUT_TEXT_MAX).text });
  }
  const c = input.copy;
  // COPY FROM STDIN: the approval is for these bytes; the reviewer sees their size, digest and start.
  if (c) out.push({ label: 'COPY data', value: `${c.bytes} bytes, ${c.lines} lines, sha256 ${c.sha256}; it starts:\n${c.preview}` });
  // What the wire session it came from changed (DateStyle, a temporary table): the same text means something else there.
  const session = sessionShown(r);
  if (session) out.push({ label: SESSION_LABEL, value: cutText(sessionText(session), INPUT_TEXT_MAX).text });
  return out;
}

type BoundLabel = 'Parameters' | 'COPY data' | typeof SESSION_LABEL;

/**
 * The derived facts, one pair per line of a card or message. A value is one
 * line: a quoted SQL identifier may hold a line break (`"orders\nAccess:
 * read-only"`), which would start a line of the card that reads as one of
 * the gateway's; it is shown as ` ⏎ `, as the action line shows the end of
 * a `--` comment.
 *
 * @example
 * factsOf(sqlRecord); // [{ label: 'Statements', value: 'update' }, { label: 'Tables', value: 'public.invoices' }, { label: 'Access', value: 'writes' }]
 */
export function factsOf(r: RequestRecord): { label: string; value: string }[] {
  return derivedFacts(r).map((f) => ({ label: f.label, value: oneLine(f.value) }));
}

function derivedFacts(r: RequestRecord): { label: string; value: string }[] {
  const f = r.facts;
  if (f.kind === 'postgres') {
    const flags = [f.sql.readOnly ? 'read-only' : 'writes', f.sql.ddl ? 'DDL' : '', f.sql.unboundedWrite ? 'unbounded write (no WHERE)' : '', f.sql.privilege ? 'privilege change' : ''].filter(Boolean);
    return [
      { label: 'Statements', value: [...new Set(f.sql.statements.map((s) => s.type))].join(', ') || 'none' },
      { label: 'Tables', value: f.sql.tables.map(nameText).join(', ') || 'no table' },
      { label: 'Access', value: flags.join(' · ') },
      ...impactOf(r),
      // Reviewers know before approving that it keeps no before-image (the policy in force when it runs decides again).
      ...(r.decision.noUndo?.length && !r.undo ? [{ label: 'Undo', value: `none: the policy says undo: false (rule ${r.decision.noUndo.join(', ')})` }] : []),
    ];
  }
  if (f.kind === 'http') return [{ label: 'Call', value: `${f.http.method} ${f.http.path}` }, { label: 'Access', value: f.writes ? 'writes' : 'read' }];
  if (f.kind === 'mcp') return [{ label: 'Tool', value: nameText(f.mcp.tool) }, { label: 'Access', value: f.writes ? 'writes' : 'read' }];
  return [{ label: 'Command', value: `${f.exec.command} ${f.exec.subcommand}`.trim() }, { label: 'Access', value: f.writes ? 'writes' : 'read' }];
}

/**
 * A held write's impact preview, once taken: what each statement would change (or why it was not previewed), and
 * the plan of each, summarised.
 *
 * @example
 * impactOf(record); // [{ label: 'Impact', value: 'would change 3 rows in table accounts (UPDATE)' }, { label: 'Plan', value: 'Update on accounts → Seq Scan on accounts (…)' }]
 */
export function impactOf(r: RequestRecord): { label: string; value: string }[] {
  const p = r.preview;
  if (!p) return [];
  const impact = { label: 'Impact', value: previewLines(p).join('; ') };
  const plans = p.status === 'previewed' ? p.statements.flatMap((s) => (s.plan ? [s.plan] : [])) : [];
  return plans.length > 0 ? [impact, { label: 'Plan', value: plans.join('; ') }] : [impact];
}

/**
 * What is still needed before the request is approved, one entry per requirement; empty once met.
 *
 * @example
 * approvalsNeeded(record); // ['1 from group sre']
 */
export function approvalsNeeded(r: RequestRecord): string[] {
  return remainingApprovals(approversOf(r), r.reviews, r)
    .filter((x) => x.needed > 0)
    .map((x) => `${x.needed} from ${[...x.groups.map((g) => `group ${g}`), ...x.principals].join(' or ') || 'anyone'}`);
}

/**
 * A short result once the action ran: `HTTP 200`, `exit 0`, `2 statements`; null before or when unknown.
 *
 * @example
 * resultText({ ...record, status: 'succeeded', result: { status: 200, body: '…' } }); // 'HTTP 200'
 */
export function resultText(r: RequestRecord): string | null {
  const out = r.result;
  if (typeof out !== 'object' || out === null) return null;
  const o = out as Record<string, unknown>;
  if (typeof o['status'] === 'number') return `HTTP ${o['status']}`;
  if (typeof o['exitCode'] === 'number') return `exit ${o['exitCode']}`;
  if (Array.isArray(o['results'])) return `${o['results'].length} statement${o['results'].length === 1 ? '' : 's'}`;
  return null;
}

const who = (groups: readonly string[], principals: readonly string[]) => [...groups.map((g) => `group ${g}`), ...principals].join(', ');

/**
 * The request's safety nets, one line each: every rung of its escalation ladder (fired or when due) and, once
 * someone broke the glass, who, why and whether it has been reviewed after the fact. Empty when it has none.
 * The justification is a person's words: each channel shows it as plain text, and it is on one line here, its
 * breaks shown as ` ⏎ `, so it cannot start a line that reads as another safety net (`Escalation after 15m …`).
 *
 * @example
 * safetyNetLines(record); // ['Escalation after 15m to group oncall: fired 2026-…', 'Break-glass by bob: db is down — …']
 */
export function safetyNetLines(r: RequestRecord): string[] {
  const lines = ladderOf(r).map((rung) => `Escalation after ${durationText(rung.afterSeconds)} to ${who(rung.groups, rung.principals)}: ${rung.firedAt ? `fired ${rung.firedAt}` : r.status === 'pending' ? `due ${rung.dueAt}` : 'not needed'}`);
  // A click here does not approve it: the reviewer confirms in the console (README, "Step-up").
  if (r.decision.stepUp === 'webauthn' && r.status === 'pending') lines.unshift('Step-up: approval needs a passkey in the console; Approve here answers with a link to it');
  const bg = r.breakGlass;
  if (bg) {
    const review = bg.review ? `reviewed after the fact by ${bg.review.by} (${bg.review.verdict === 'approve' ? 'warranted' : 'not warranted'})` : 'awaiting its after-the-fact review';
    lines.push(`Break-glass by ${bg.by} at ${bg.at}: ${oneLine(bg.justification)} — ${review}`);
  }
  return lines;
}

/**
 * What an escalation or a break-glass says beside the card: who is now asked, or who ran it and why. Plain text.
 *
 * @example
 * announcementText(record, 'request.escalated'); // 'Escalated: still waiting for approval; now asking group oncall.'
 */
export function announcementText(r: RequestRecord, event: string): string {
  const bg = r.breakGlass;
  if (event === 'request.break_glass' && bg) return `Break-glass: ${bg.by} ran this request without its approvals. It needs an after-the-fact review. Justification: ${oneLine(bg.justification)}`;
  const rung = r.escalations?.at(-1);
  return `Escalated: still waiting for approval; now asking ${rung ? who(rung.groups, rung.principals) : 'the next rung'}.`;
}
