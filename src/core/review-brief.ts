/**
 * What a reviewer must see before anything else, the same on every channel:
 * the exact action in one line (`POST /refunds on billing-api`), the risks
 * derived from the facts and the connection's tags (never from the agent's
 * words), whether approving needs an explicit confirmation, and what the
 * Approve button does (`Approve and run …` when that approval can complete
 * the quorum, `Approve (1 of 2)` when it cannot). The console, Slack and
 * Teams all build their heading, risk line and button from this, so the
 * channels agree.
 */
import { boundedJson } from './bounded-text.ts';
import type { ConnectionInfo, TagValue } from './connection.ts';
import type { Facts } from './facts.ts';
import { isProdConnection } from './policy/coverage-classes.ts';
import type { RequestRecord } from './request.ts';
import { flatText, hasHidden } from './visible-text.ts';
import { isLookAlike } from './look-alike.ts';
import { lineCommentEnds } from './line-comments.ts';
import { quorumMet, remainingApprovals, type Review } from './review.ts';
import { approversOf } from './escalation.ts';
import { sessionShown } from './session-shown.ts';

export type RiskFlag = 'writes' | 'deletes' | 'DDL' | 'privilege' | 'unbounded write' | 'tool changed' | 'look-alike name' | 'hidden characters' | 'session state' | 'prod' | 'PII' | 'irreversible';

export interface ReviewBrief {
  /** The exact action in one line, flattened, controls neutralised: `POST /refunds on billing-api`. */
  readonly action: string;
  /** Risks in a fixed order; empty for a read on an untagged connection. */
  readonly risks: readonly RiskFlag[];
  /** The risk line as shown: `writes · prod · PII · irreversible`, or `read-only`. */
  readonly riskLine: string;
  /** The connection is tagged production or PII: an approval needs an explicit confirmation. */
  readonly confirm: boolean;
}

/** How long the action line may be before it is cut with an ellipsis. */
export const ACTION_LINE_MAX = 160;

/**
 * One line of at most `max` characters: whitespace runs collapsed, controls,
 * bidi overrides, line separators and zero-width characters shown as U+FFFD
 * (visible-text.ts), never a split surrogate pair.
 *
 * @example
 * oneLine('DELETE\n FROM orders', 10); // 'DELETE FR…'
 */
export function oneLine(text: string, max = ACTION_LINE_MAX): string {
  const flat = flatText(text).trim();
  if (flat.length <= max) return flat;
  let end = Math.max(0, max - 1);
  if (end > 0 && isHighSurrogate(flat.charCodeAt(end - 1))) end--;
  return `${flat.slice(0, end)}…`;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

const tagHas = (v: TagValue | undefined, wanted: readonly string[]): boolean => {
  if (v === undefined) return false;
  const values = Array.isArray(v) ? v : [String(v)];
  return values.some((x) => wanted.includes(String(x).trim().toLowerCase()));
};

/** Production as the coverage gate counts it (isProdConnection), and PII by `data: pii` (or a list holding it), `pii: true` or `compliance` naming gdpr/hipaa. */
export function connectionRisks(connection: Pick<ConnectionInfo, 'tags'>): { prod: boolean; pii: boolean } {
  const t = connection.tags;
  const prod = isProdConnection(connection);
  const pii = tagHas(t['data'], ['pii']) || tagHas(t['pii'], ['true', 'yes']) || tagHas(t['compliance'], ['pii']);
  return { prod, pii };
}

const SQL_DELETES = new Set(['delete', 'truncate', 'drop']);
const HTTP_READS = new Set(['GET', 'HEAD', 'OPTIONS']);

function factRisks(facts: Facts): RiskFlag[] {
  const out: RiskFlag[] = [];
  if (facts.kind === 'postgres') {
    const s = facts.sql;
    const writes = facts.writes || !s.readOnly;
    if (writes) out.push('writes');
    if (s.statements.some((st) => SQL_DELETES.has(st.type))) out.push('deletes');
    if (s.ddl) out.push('DDL');
    if (s.privilege) out.push('privilege');
    if (s.unboundedWrite) out.push('unbounded write');
    return out;
  }
  if (facts.kind === 'http') {
    const method = facts.http.method.toUpperCase();
    if (facts.writes || !HTTP_READS.has(method)) out.push('writes');
    if (method === 'DELETE') out.push('deletes');
    return out;
  }
  if (facts.kind === 'mcp') {
    if (facts.writes || !facts.mcp.annotations.readOnlyHint) out.push('writes');
    // The upstream shows a definition nobody accepted (README, "Tool pinning"): its annotations can keep claiming
    // read-only while the description, and what the tool does, changed. Approving runs the new definition.
    if (facts.mcp.toolChanged) out.push('tool changed');
    return out;
  }
  // exec: what a binary does is not knowable; it counts as a write.
  out.push('writes');
  return out;
}

/** The names an action acts on, as the facts derived them: tables and functions, the path, the tool, the argv. */
function namesOf(facts: Facts): readonly string[] {
  if (facts.kind === 'postgres') return [...facts.sql.tables, ...facts.sql.functions];
  if (facts.kind === 'http') return [facts.http.path];
  if (facts.kind === 'mcp') return [facts.mcp.tool];
  return facts.exec.argv;
}

/**
 * Irreversible: the gateway cannot undo it. Every HTTP write (non-safe
 * method), every SQL write, every exec, and an MCP tool unless it is
 * read-only or says it is not destructive (the spec's default is destructive).
 */
function irreversible(facts: Facts, risks: readonly RiskFlag[]): boolean {
  if (facts.kind === 'mcp') return !facts.mcp.annotations.readOnlyHint && facts.mcp.annotations.destructiveHint;
  return risks.includes('writes');
}

function mcpTool(r: Pick<RequestRecord, 'action'>): { tool: string; args: unknown } | undefined {
  const input = r.action.input;
  return 'tool' in input ? { tool: input.tool, args: input.arguments } : undefined;
}

/**
 * One argument as a shell would need it written, as the CLI and the request text show argv: joined by spaces alone,
 * `['--exclude', '*.keep --dryrun']` would read as a dry run to a reviewer, and run for real.
 */
const shellWord = (arg: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/**
 * The exact action in one line, before the connection name is added.
 *
 * @example
 * actionText(r); // 'POST /refunds' | 'SQL: DELETE FROM orders …' | 'run: kubectl rollout restart deploy/web' | 'tool delete_repo {"name":"x"}'
 */
function actionText(r: Pick<RequestRecord, 'action' | 'facts'>): string {
  const input = r.action.input;
  const mcp = mcpTool(r);
  // Bounded work and never a throw, however large or deep the arguments: the line is cut anyway.
  if (mcp) return `tool ${mcp.tool} ${boundedJson(mcp.args ?? {}, 2 * ACTION_LINE_MAX).text}`;
  if ('sql' in input) return `SQL: ${lineCommentEnds(input.sql)}`;
  if ('method' in input) return `${input.method.toUpperCase()} ${input.path}`;
  if ('args' in input) return `run: ${(r.facts.exec.argv.length ? r.facts.exec.argv : input.args).map(shellWord).join(' ')}`;
  return boundedJson(input, 2 * ACTION_LINE_MAX).text;
}

/**
 * `DELETE, SELECT`: each kind once, deleting kinds first and reads last, at most four and then how many more.
 *
 * @example
 * statementKinds([{ type: 'select' }, { type: 'delete' }]); // 'DELETE, SELECT'
 */
export function statementKinds(statements: readonly { type: string }[]): string {
  const rank = (t: string) => (SQL_DELETES.has(t) ? 0 : t === 'select' ? 2 : 1);
  const types = [...new Set(statements.map((st) => st.type))].sort((a, b) => rank(a) - rank(b));
  const kinds = types.map((t) => oneLine(t, 20).toUpperCase());
  return kinds.length > 4 ? `${kinds.slice(0, 4).join(', ')} +${kinds.length - 4} more kinds` : kinds.join(', ') || 'no statement';
}

/** How many words, and characters of each, the lead of a cut exec line shows. */
const WORDS_SHOWN = 12;
const WORD_MAX = 20;

/**
 * The command and the arguments that are not options (every one after `--`), in their order, each cut to WORD_MAX:
 * what runs, whatever options come first. An option's value given as a word of its own (`-c core.x=y`) is one of
 * them: which options take a value is the tool's grammar, not knowable here, and a word too many is safer than one
 * missing.
 *
 * @example
 * commandWords({ command: 'kubectl', argv: ['/usr/local/bin/kubectl', '--kubeconfig=/long/path', 'delete', 'pods', '--all'] }); // 'kubectl delete pods'
 */
export function commandWords(exec: Pick<Facts['exec'], 'command' | 'argv'>): string {
  const words = [exec.command];
  let optionsEnded = false;
  for (const arg of exec.argv.slice(1)) {
    if (words.length > WORDS_SHOWN) break;
    if (!optionsEnded && arg === '--') optionsEnded = true;
    else if (optionsEnded || !arg.startsWith('-')) words.push(arg);
  }
  const shown = words.slice(0, WORDS_SHOWN).map((w) => oneLine(shellWord(w), WORD_MAX));
  return words.length > WORDS_SHOWN ? `${shown.join(' ')} …` : shown.join(' ');
}

/**
 * The action line with its connection: `POST /refunds on billing-api`,
 * `SQL on orders-db: DELETE FROM orders …`, cut to `max`. A cut SQL line leads
 * with its statement kinds, a cut exec line with its command and the words
 * that are not options (`Run on ops-k8s (kubectl delete pods): …`).
 *
 * @example
 * actionLine(r); // 'POST /refunds on billing-api'
 */
export function actionLine(r: Pick<RequestRecord, 'action' | 'facts' | 'connection'>, max = ACTION_LINE_MAX): string {
  const name = r.connection.name;
  const text = actionText(r);
  if (text.startsWith('SQL: ')) {
    const whole = oneLine(`SQL on ${name}: ${text.slice(5)}`, Infinity);
    if (whole.length <= max || r.facts.kind !== 'postgres') return oneLine(whole, max);
    // Cut SQL could end before its dangerous statement (`SELECT 1; /* … */ DELETE FROM orders`):
    // the parser's statement kinds go first, where no cut reaches them.
    return oneLine(`SQL on ${name} (${statementKinds(r.facts.sql.statements)}): ${text.slice(5)}`, max);
  }
  if (text.startsWith('run: ')) {
    const whole = oneLine(`Run on ${name}: ${text.slice(5)}`, Infinity);
    if (whole.length <= max || r.facts.kind !== 'exec') return oneLine(whole, max);
    // Cut argv could end in its leading options (`--kubeconfig=<long path>`), before what runs: the command and the
    // words that are not options go first, where no cut reaches them.
    return oneLine(`Run on ${name} (${commandWords(r.facts.exec)}): ${text.slice(5)}`, max);
  }
  if (text.startsWith('tool ')) return oneLine(`Tool on ${name}: ${text.slice(5)}`, max);
  // `on <connection>` must survive the cut: the path is the part that gives way.
  const suffix = ` on ${oneLine(name, 60)}`;
  return `${oneLine(text, Math.max(20, max - suffix.length))}${suffix}`;
}

/**
 * @example
 * reviewBrief(r); // { action: 'POST /refunds on billing-api', risks: ['writes', 'prod', 'irreversible'], riskLine: 'writes · prod · irreversible', confirm: true }
 */
export function reviewBrief(r: Pick<RequestRecord, 'action' | 'facts' | 'connection'> & Partial<Pick<RequestRecord, 'context'>>, max = ACTION_LINE_MAX): ReviewBrief {
  const risks = factRisks(r.facts);
  if (namesOf(r.facts).some(isLookAlike)) risks.push('look-alike name');
  // Shown as U+FFFD on every surface, easy to take for a glitch: the flag says the agent sent them.
  if (hasHidden(r.action.input) || hasHidden(r.action.reason)) risks.push('hidden characters');
  // The wire session it came from reads the text otherwise than a new one would (DateStyle, a temporary table): the
  // lines under "Session differs from a new one" say how (core/session-shown.ts).
  if (sessionShown(r)) risks.push('session state');
  const { prod, pii } = connectionRisks(r.connection);
  if (prod) risks.push('prod');
  if (pii) risks.push('PII');
  if (irreversible(r.facts, risks)) risks.push('irreversible');
  return { action: actionLine(r, max), risks, riskLine: risks.length ? risks.join(' · ') : 'read-only', confirm: prod || pii };
}

/** Where an approval stands: whether one more can complete the quorum, and the count so far. */
export interface ApprovalStep {
  /** True when this approval (of this reviewer, or of some eligible one when unknown) can complete the quorum and start the action. */
  readonly completes: boolean;
  /** This approval's number, and how many are needed in all (`1 of 2`). */
  readonly nth: number;
  readonly of: number;
}

/**
 * With a reviewer: exactly whether their approval completes the quorum.
 * Without (a chat card every reviewer shares): whether some single approval
 * could, erring toward "it runs" — a button never hides that it starts the action.
 *
 * @example
 * approvalStep(r, alice); // { completes: false, nth: 1, of: 2 }
 */
export function approvalStep(r: Pick<RequestRecord, 'id' | 'decision' | 'reviews' | 'principal' | 'digest'>, reviewer?: { id: string; groups: readonly string[] }): ApprovalStep {
  const remaining = remainingApprovals(approversOf(r), r.reviews, r).filter((x) => x.needed > 0);
  const given = new Set(r.reviews.filter((v) => v.verdict === 'approve').map((v) => v.reviewer.id)).size;
  // One human fills one place of each rule at most (core/review.ts): one approval completes only where no rule lacks more than one.
  const lacking = new Map<string, number>();
  for (const x of remaining) lacking.set(x.rule, (lacking.get(x.rule) ?? 0) + x.needed);
  const most = Math.max(0, ...lacking.values());
  // Every requirement's count added up: exact unless one human fills requirements of two rules, and then this approval may complete it (and says so).
  const total = remaining.reduce((n, x) => n + x.needed, 0);
  const counted = { nth: given + 1, of: given + Math.max(1, total) };
  if (reviewer) {
    // Where the rules require step-up, the approval asked about is a passkey-confirmed one (no other counts).
    const mine: Review = { requestId: r.id, reviewer: { id: reviewer.id, kind: 'human', groups: [...reviewer.groups] }, verdict: 'approve', comment: '', digest: r.digest, createdAt: '', ...(r.decision.stepUp ? { stepUp: { method: r.decision.stepUp, credentialId: '' } } : {}) };
    return { completes: quorumMet(approversOf(r), [...r.reviews, mine], r), ...counted };
  }
  return { completes: most <= 1, ...counted };
}

/**
 * The action line after a fixed head of the surface's (`Approval needed: `),
 * at most `max` characters in all. The line is made for the room left, not
 * cut from the 160-character one: a cut SQL line leads with its statement
 * kinds, and a line that fits 160 but not this room would lose its tail
 * (`SELECT 1; -- … ⏎ DELETE FROM orders` read as `SELECT 1; -- …`).
 *
 * @example
 * headedAction(r, 'Approval needed: ', 150); // 'Approval needed: SQL on orders-db (DELETE, SELECT): SELECT 1; -- …'
 */
export function headedAction(r: Pick<RequestRecord, 'action' | 'facts' | 'connection'>, head: string, max: number): string {
  return oneLine(`${head}${actionLine(r, Math.min(ACTION_LINE_MAX, Math.max(20, max - head.length)))}`, max);
}

/**
 * The Approve button's words, at most `max` characters: the consequence when
 * this approval can run the action (the action line made for the room the
 * button leaves it), else which approval of how many it is.
 *
 * @example
 * approveLabel(r, step); // 'Approve and run POST /refunds on billing-api' | 'Approve (1 of 2)'
 */
export function approveLabel(r: Pick<RequestRecord, 'action' | 'facts' | 'connection'>, step: ApprovalStep, max = 200): string {
  if (!step.completes) return `Approve (${step.nth} of ${step.of})`;
  return headedAction(r, 'Approve and run ', max);
}

/**
 * The sentence a reviewer confirms on a production or PII connection.
 *
 * @example
 * confirmText(brief, r.connection); // 'I understand this runs POST /refunds on billing-api on production, on PII data.'
 */
export function confirmText(brief: Pick<ReviewBrief, 'action' | 'risks'>, max = 300): string {
  const where = [brief.risks.includes('prod') ? 'on production' : '', brief.risks.includes('PII') ? 'on personal data (PII)' : ''].filter(Boolean).join(', ');
  const tail = ` ${where}.`;
  return `I understand this runs ${oneLine(brief.action, Math.max(20, max - 24 - tail.length))}${tail}`;
}
