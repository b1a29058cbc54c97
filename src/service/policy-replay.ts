/**
 * Replay: the recorded actions of the audit log (its `request.submitted`
 * events) decided again under a candidate policy, and every decision that
 * would change. Inputs are taken as stored (masked where the config masks
 * them); facts are derived again by the connection of that name in the
 * current config, except where they cannot be: the connection is gone, it is
 * an MCP connection (its facts need the upstream's tool listing as it was),
 * or the stored input no longer parses — then the recorded facts are used and
 * the change says so. Each action is evaluated at its own recorded time.
 */
import { parseInput, type Action, type ActionInput } from '../core/action.ts';
import type { ConnectionInfo } from '../core/connection.ts';
import { makeFacts, type Facts } from '../core/facts.ts';
import type { CompiledPolicy } from '../core/policy/compile.ts';
import { decisionSide, decisionsDiffer, groupChanges, type ChangeGroup, type DecisionChange, type DecisionSide } from '../core/policy/decision-diff.ts';
import type { Store } from '../core/ports.ts';
import type { Principal } from '../core/principal.ts';
import { cutText } from '../core/bounded-text.ts';
import { lineCommentEnds } from '../core/line-comments.ts';
import { commandWords, statementKinds } from '../core/review-brief.ts';
import { decide } from './decide.ts';
import type { Deps } from './deps.ts';

/** An audit event as both a store and a bundle give it. */
export interface RecordedEvent {
  readonly type: string;
  readonly time: string;
  readonly requestId: string | null;
  readonly data: unknown;
}

export interface ReplayReport {
  readonly since: string;
  /** Recorded actions decided again. */
  readonly replayed: number;
  /** Of those, how many with the facts as recorded (not derived again). */
  readonly factsAsRecorded: number;
  readonly changes: readonly DecisionChange[];
  readonly groups: readonly ChangeGroup[];
  /** Events that could not be read as an action (a log older than the fields replay needs). */
  readonly unreadable: readonly { readonly requestId: string | null; readonly why: string }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Characters of an input's summary. */
const SUMMARY_MAX = 100;

/**
 * `select * from orders where …` / `POST /refunds` / `kubectl rollout …` / `tool read_file`: one line, at most
 * SUMMARY_MAX characters. A line comment's end is marked (` ⏎ `): flattened, what runs after it read as commented
 * out. Cut, a SQL line leads with its statement kinds and a command with the words that are not options (the
 * facts'), as on every review surface: a `SELECT 1;` whose DELETE was padded past the cut read as a SELECT.
 *
 * @example
 * inputSummary({ sql: 'select 1; -- ok\ndelete from orders' }); // 'select 1; -- ok ⏎ delete from orders'
 */
export function inputSummary(input: unknown, facts?: Facts): string {
  const i = isObj(input) ? input : {};
  const text =
    typeof i['sql'] === 'string' ? lineCommentEnds(i['sql'])
    : typeof i['method'] === 'string' ? `${i['method']} ${String(i['path'] ?? '')}`
    : Array.isArray(i['args']) ? strings(i['args']).join(' ')
    : typeof i['tool'] === 'string' ? `tool ${i['tool']}`
    : JSON.stringify(input) ?? '';
  const line = text.replace(/\s+/g, ' ').trim();
  if (line.length <= SUMMARY_MAX) return line;
  const lead =
    // Recorded facts are read as written (an old event may lack a field): a lead only from what is there.
    typeof i['sql'] === 'string' && facts?.kind === 'postgres' && Array.isArray(facts.sql?.statements) ? `(${statementKinds(facts.sql.statements)}) `
    : Array.isArray(i['args']) && facts?.kind === 'exec' && typeof facts.exec?.command === 'string' && strings(facts.exec.argv).length ? `(${commandWords({ command: facts.exec.command, argv: strings(facts.exec.argv) })}) `
    : '';
  return `${cutText(`${lead}${line}`, SUMMARY_MAX - 1).text}…`;
}

function recordedDecision(v: unknown): DecisionSide {
  const d = isObj(v) ? v : {};
  return {
    effect: d['effect'] === 'allow' || d['effect'] === 'deny' || d['effect'] === 'approve' ? d['effect'] : 'error',
    rules: strings(d['rules']),
    approvers: Array.isArray(d['approvers']) ? (d['approvers'] as DecisionSide['approvers']) : [],
    policyHash: typeof d['policyHash'] === 'string' ? d['policyHash'] : '',
    ...(Array.isArray(d['errors']) && d['errors'].length ? { errors: d['errors'] as DecisionSide['errors'] } : {}),
  };
}

/**
 * The principal as the log keeps it: id, kind, whom it acts for, groups and (for a token) the issuer. A token's
 * claims are not kept, so `principal.claims` is empty and `principal.github` null in replay.
 */
function recordedPrincipal(v: Obj): Principal {
  const identity = isObj(v['identity']) ? v['identity'] : undefined;
  return {
    id: String(v['id']),
    kind: v['kind'] === 'human' ? 'human' : 'agent',
    actsFor: typeof v['actsFor'] === 'string' ? v['actsFor'] : null,
    groups: strings(v['groups']),
    email: null,
    ...(identity && typeof identity['issuer'] === 'string' ? { issuer: identity['issuer'], claims: {} } : {}),
  };
}

function recordedFacts(kind: ConnectionInfo['kind'], v: unknown): Facts {
  const f = isObj(v) ? v : {};
  const section = kind === 'postgres' ? 'sql' : kind;
  return makeFacts(kind, { writes: f['writes'] === true, ...(isObj(f[section]) ? { [section]: f[section] } : {}) });
}

/** Facts derived again by the current connection of that name, or undefined when they cannot be. */
async function derivedFacts(deps: Pick<Deps, 'connections'>, connection: ConnectionInfo, input: unknown): Promise<{ facts: Facts; input: ActionInput } | undefined> {
  const handle = deps.connections.get(connection.name);
  if (!handle || handle.info.kind !== connection.kind || connection.kind === 'mcp') return undefined;
  try {
    const parsed = parseInput(connection.kind, input);
    // A long SQL text is analysed on the analysis thread, as at submission.
    await handle.prepareFacts?.(parsed);
    return { facts: handle.facts(parsed), input: parsed };
  } catch {
    return undefined;
  }
}

/**
 * Decides one recorded action again; the change, or undefined when the decision stays.
 * Throws on an event that is not a readable `request.submitted`.
 */
async function replayOne(deps: Pick<Deps, 'connections'>, candidate: CompiledPolicy, e: RecordedEvent): Promise<{ change?: DecisionChange; asRecorded: boolean }> {
  const d = isObj(e.data) ? e.data : {};
  const c = d['connection'];
  if (!isObj(d['principal']) || !isObj(c) || typeof c['name'] !== 'string' || typeof c['kind'] !== 'string') throw new Error('no principal or connection recorded');
  const connection: ConnectionInfo = { name: c['name'], kind: c['kind'] as ConnectionInfo['kind'], tags: isObj(c['tags']) ? (c['tags'] as ConnectionInfo['tags']) : {} };
  const principal = recordedPrincipal(d['principal']);
  const derived = await derivedFacts(deps, connection, d['input']);
  const facts = derived?.facts ?? recordedFacts(connection.kind, d['facts']);
  const action: Action = { connection: connection.name, operation: String(d['operation'] ?? ''), input: (derived?.input ?? d['input']) as ActionInput, reason: String(d['reason'] ?? '') };
  const context = { time: new Date(e.time), request: isObj(d['context']) ? (Object.fromEntries(Object.entries(d['context']).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : {} };
  let side: DecisionSide;
  try {
    side = decisionSide(decide(candidate, principal, action, connection, facts, context));
  } catch (err) {
    side = { effect: 'error', rules: [], approvers: [], policyHash: candidate.hash, errors: [{ rule: '(candidate)', message: err instanceof Error ? err.message.slice(0, 500) : 'evaluation failed' }] };
  }
  const live = recordedDecision(d['decision']);
  const asRecorded = derived === undefined;
  if (!decisionsDiffer(live, side)) return { asRecorded };
  const change: DecisionChange = {
    requestId: e.requestId ?? '',
    principal: principal.id,
    connection: connection.name,
    time: e.time,
    live,
    candidate: side,
    input: inputSummary(d['input'], facts),
    ...(asRecorded ? { factsAsRecorded: true } : {}),
  };
  return { change, asRecorded };
}

/**
 * @example
 * const report = await replayPolicy(deps, candidate, storeSubmissions(store, since), { since });
 * report.groups[0]; // { transition: 'allow → approve', nowMatching: ['prod-writes'], count: 4, examples: [...] }
 */
export async function replayPolicy(
  deps: Pick<Deps, 'connections'>,
  candidate: CompiledPolicy,
  events: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>,
  o: { since: Date; examples?: number },
): Promise<ReplayReport> {
  const since = o.since.toISOString();
  const changes: DecisionChange[] = [];
  const unreadable: { requestId: string | null; why: string }[] = [];
  let replayed = 0;
  let asRecorded = 0;
  for await (const e of events) {
    if (e.type !== 'request.submitted' || e.time < since) continue;
    try {
      const r = await replayOne(deps, candidate, e);
      replayed++;
      if (r.asRecorded) asRecorded++;
      if (r.change) changes.push(r.change);
    } catch (err) {
      unreadable.push({ requestId: e.requestId, why: err instanceof Error ? err.message : String(err) });
    }
  }
  return { since, replayed, factsAsRecorded: asRecorded, changes, groups: groupChanges(changes, o.examples ?? 3), unreadable };
}

/** The `request.submitted` events of a store since a time, oldest first, a page at a time. */
export async function* storeSubmissions(store: Store, since: Date, page = 1000): AsyncGenerator<RecordedEvent> {
  let after: number | undefined;
  for (;;) {
    const events = await store.searchAudit({ types: ['request.submitted'], from: since.toISOString(), limit: page, ...(after !== undefined ? { afterSeq: after } : {}) });
    yield* events;
    if (events.length < page) return;
    after = events[events.length - 1]!.seq;
  }
}
