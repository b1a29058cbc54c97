/**
 * Runs a wire client's statements on the upstream connection its session
 * holds, with the same guarantees as a run from the pool (connection.ts):
 * outside a transaction block, each statement runs in a transaction of the
 * gateway's, READ ONLY when the facts say it only reads, after the session
 * check (session-guard.ts) in that same transaction; inside the client's
 * block, a read runs under a savepoint made read-only and rolled back after,
 * a write after the session check. Transaction control (BEGIN, COMMIT, …) runs
 * as it is. A statement is sent upstream only after the check passed, or, with
 * the connection's `sessionCheckCache`, behind the verifier of a verdict cached
 * for the same parameters (guard-cache.ts) in the same flight: when the
 * verifier fails the server skips the statement and the full check runs.
 * Outside a block the gateway's COMMIT goes in the flight of the client's Query.
 * In a client's REPEATABLE READ or SERIALIZABLE block nothing but transaction
 * control runs: the check would read the catalogs as of the block's snapshot.
 * A Parse or Describe sent without an Execute goes in a read-only transaction or savepoint.
 *
 * The gateway's own statements are prepared once per upstream session under
 * names a client may not use (`countersign_…`), and answered to the gateway
 * only (wire-relay.ts).
 */
import { serialize } from 'pg-protocol';
import type { SqlInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import type { WireOutcome, WirePart, WireUpstream } from '../../../core/ports.ts';
import { noticeFields } from '../../../surfaces/pg/protocol.ts';
import { containsNode } from './facts.ts';
import { inputCheckSteps, inputRefusal } from './wire-input-check.ts';
import { analyseSqlAsync, analyseSqlCached, containsNodeAsync } from './analysis-cache.ts';
import { OFFLOAD_MIN_CHARS } from './analysis-offload.ts';
import { cacheKey, GuardCache, stateSql, verifySql } from './guard-cache.ts';
import { arrayLiteral, credentialRefusal, GUARD_ALLOWED, guardParams, refusal, snapshotRefusal, type GuardRow } from './session-guard.ts';
import type { Answer, WireRelay } from './wire-relay.ts';
import { refused, tell } from './wire-outcome.ts';
import { CANCELLED, cancelledByClient } from './wire-cancel.ts';
import { CHECK_FAILED, checkStep, PreparedWatch } from './prepared-watch.ts';
import { bytes, dataRowNullableText, dataRowText, sqlstate } from './upstream-frames.ts';
import { bindOwn, CLOSE_PORTAL, EXECUTE_PORTAL, latchStep, OWN, prepareOwn, RESERVED_PREFIX } from './wire-own.ts';
import { runsAsRead } from './copy-reads.ts';

type RunPlan = Parameters<WireUpstream['run']>[1];
type Opened = 'transaction' | 'savepoint' | null;
/** One of the gateway's own prepared statements, with its parameters. */
interface Step {
  readonly key: string;
  readonly values?: (string | null)[];
  /** Parsed afresh before it runs (prepared-watch.ts): what the name held may have been changed. */
  readonly parse?: { readonly text: string; readonly types: readonly number[] };
}

/** Statement types that drop prepared statements: the gateway's own must be prepared again after them. */
const DROPS_PREPARED: ReadonlySet<string> = new Set(['discard', 'deallocate']), NO_NAMES: ReadonlySet<string> = new Set();
const PARAMS_REFUSED = 'transaction control takes no parameters: send it without any; nothing ran';
const EXECUTE_REFUSED = "SQL EXECUTE of a prepared statement is not run through the listener (what it runs was judged by no one): use the protocol's Parse/Bind/Execute, or send the statement itself; nothing ran";

/**
 * @example
 * const session = new WireSession(relay, { readOnlyFunctions: [] });
 * const outcome = await session.run({ sql: 'SELECT 1' }, { parts: [{ raw, kind: 'query' }], readOnly: true, transactionControl: false });
 */
export class WireSession {
  private prepared = false;
  private readonly allowed: ReadonlySet<string>;
  /** The allow-list as the guard's text[] parameter: hundreds of names, the same for every statement of the session. */
  private allowedLiteral: string | undefined;
  /** Verdicts of the session check (guard-cache.ts), when the connection opted in. */
  private readonly cache: GuardCache | undefined;
  /** Whether the verifier's statements are prepared here and the counter is readable ('pending': not yet tried). */
  private probe: 'pending' | 'ok' | 'off' = 'pending';
  private readonly cacheSql: { state: string; verify: string } | undefined;
  /** Whether the session's prepared statements may have been changed by SQL run since they were last checked. */
  private readonly watch = new PreparedWatch();

  constructor(
    readonly relay: WireRelay,
    /**
     * `cancel` sends a CancelRequest for the upstream backend: true once the server handled it (UpstreamSession.cancel).
     * `owner`, the client's principal: a long text's analysis at run takes its share of the thread, as at submission.
     */
    private readonly options: { readOnlyFunctions: readonly string[]; builtIn: ReadonlySet<string>; epochSchema?: string | undefined; cancel?: () => Promise<boolean>; owner?: string | undefined },
  ) {
    this.allowed = new Set([...options.builtIn, ...options.readOnlyFunctions]);
    const schema = options.epochSchema;
    this.cache = schema === undefined ? undefined : new GuardCache();
    this.cacheSql = schema === undefined ? undefined : { state: stateSql(schema), verify: verifySql(schema) };
  }

  /**
   * Sends messages with no Execute after them (a Parse, Describe, Close, or an empty statement's Bind, up to the client's Sync or Flush)
   * and a Sync of the gateway's, for a Flush too: a Parse opens a transaction that holds the locks it took (ROW EXCLUSIVE for an UPDATE)
   * until a Sync, and after an error the server skips every message up to one, the gateway's too (the client skips the rest itself).
   * Returns why none of them was sent, when the check before them refused.
   */
  async sync(parts: readonly WirePart[]): Promise<string | undefined> {
    // Anything but a Close runs code, read-only and undone after (the statement stays), once a read's check passed (wire-input-check.ts):
    // a Parse the input of its literals (`'{1}'::d[]`: domain d's CHECK), a Describe of a statement a schema change invalidated too (parsed
    // again first, CachedPlanGetTargetList), and the Bind of an empty statement (session.ts answers its Execute) its parameters' input.
    const status = this.relay.status;
    const ro = status !== 'E' && parts.some((p) => p.kind !== 'close') && (this.prepared || (await this.prepare()));
    const why = ro ? await this.inputCheck(status) : undefined;
    if (why) return why;
    const answers = parts.map((p) => this.relay.send(bytes(p.raw), p.kind, 'client'));
    // That input may be a domain CHECK that runs SQL, and PREPARE and DEALLOCATE run in a read-only transaction too: the
    // gateway's statements are checked again before its own end of the flight uses one (the server skips the rest when
    // the check fails).
    const after = ro ? this.step(checkStep([null, null])) : undefined;
    if (ro) for (const key of status === 'I' ? ['rollback'] : ['undo', 'release']) void this.step({ key });
    await this.relay.send(serialize.sync(), 'sync', 'gateway');
    const failed = (await Promise.all(answers)).some((a) => a.outcome !== 'answered' || a.error);
    if (after) {
      // Failed, the client's Parse stopped the flight before the check: whatever its input ran, the names are checked
      // before their next use. Passed, the gateway's names hold; the client's are checked again before their next Bind.
      if (failed) this.watch.wrote();
      else if (this.checked(await after, [null, null])) return undefined;
      else this.watch.ranCode();
    }
    await tell(parts, answers);
    // Failed: the gateway's transaction or savepoint is undone, and the client's block fails as it would have.
    if (ro && failed) await this.undo(status === 'I' ? 'transaction' : 'savepoint').then(() => (status === 'T' ? this.fail() : undefined));
    this.relay.takeOutcome();
  }

  /** The checks before messages with no Execute (wire-input-check.ts): when one refuses, what it opened is undone and the reason returned. */
  private async inputCheck(status: 'I' | 'T'): Promise<string | undefined> {
    if (this.watch.pending && this.checked((await this.own([checkStep([null, null])]))[0], [null, null])) return CHECK_FAILED;
    const why = inputRefusal(await this.own(inputCheckSteps(status, (this.allowedLiteral ??= arrayLiteral([...this.allowed])))), status, this.options);
    if (why) await this.undo(status === 'I' ? 'transaction' : 'savepoint').then(() => (status === 'T' ? this.fail() : undefined));
    return why;
  }

  async run(input: SqlInput, plan: RunPlan): Promise<WireOutcome> {
    // Cancelled by its client before it reached the upstream: nothing is sent for it.
    if (cancelledByClient(plan.signal)) return CANCELLED;
    let analysed;
    // SQL-level EXECUTE runs a statement PREPAREd earlier in the session, which this statement's facts cannot see: policy would
    // judge `EXECUTE x` without what x does (the keyword is spelled with its letters only: text without them needs no second parse).
    let executes = false;
    try {
      const long = input.sql.length > OFFLOAD_MIN_CHARS, options = { readOnlyFunctions: this.options.readOnlyFunctions }, owner = this.options.owner;
      analysed = long ? await analyseSqlAsync(input.sql, options, owner) : analyseSqlCached(input.sql, options);
      executes = /execute/i.test(input.sql) && (long ? await containsNodeAsync(input.sql, 'ExecuteStmt', owner) : containsNode(input.sql, 'ExecuteStmt'));
    } catch (e) {
      if (!(e instanceof CountersignError)) throw e;
      return refused(e.code, e.message);
    }
    const { names, facts } = analysed;
    if (!plan.readOnly && runsAsRead(input.sql, facts, names, this.allowed)) plan = { ...plan, readOnly: true }; // a COPY to the client that only reads (copy-reads.ts)
    const types = facts.statements.map((s) => s.type);
    // BEGIN, COMMIT, ROLLBACK, SAVEPOINT …: run as sent, with no transaction or check of the gateway's around them. They
    // take no parameter: a Bind of one would run there the input of the type its Parse declared (a domain's CHECK).
    const transactionControl = types.length > 0 && types.every((t) => t === 'transaction');
    const unsafe = credentialRefusal(names)?.message ?? (executes ? EXECUTE_REFUSED : transactionControl && input.params?.length ? PARAMS_REFUSED : undefined);
    if (unsafe) return refused('SQL_SESSION_UNSAFE', unsafe);
    const dropsPrepared = types.some((t) => DROPS_PREPARED.has(t));
    const relay = this.relay;
    const status = relay.status;
    // In a failed block only ROLLBACK (TO) runs; anything else fails on the server as it would directly. A string that
    // ends the block (ROLLBACK, COMMIT, PREPARE TRANSACTION) and then goes on would run the rest with no check of the
    // gateway's: in a failed block a string of several statements runs only when it is all transaction control.
    if (status === 'E' && !transactionControl && types.length > 1) {
      return refused('SQL_SESSION_UNSAFE', 'the transaction block has failed: end it (ROLLBACK) on its own before sending what is to run after it; nothing ran');
    }
    const wrap = !transactionControl && status !== 'E';
    const writes = !plan.readOnly && !transactionControl;
    // In a failed block the server runs nothing but the end of it, and the gateway sends none of its own.
    const check = status === 'E' ? undefined : this.watch.needed(plan.parts, input.sql, wrap);
    if (check && !wrap) {
      const stop = this.checked((await this.own([checkStep(check)]))[0], check);
      if (stop) return stop;
    }
    let opened: Opened = null;
    // COPY FROM STDIN waits for the client's data: nothing of the gateway's may follow it in the same flight.
    const copies = types.includes('copy');
    let lead: Step[] = [];
    let fill: { key: string; state: string | null } | undefined;
    if (wrap) {
      if (!this.prepared && !(await this.prepare())) return refused('SQL_SESSION_UNSAFE', 'the gateway could not prepare its session check on the upstream; nothing ran');
      const pre: string[] = [...(status === 'I' ? [plan.readOnly ? 'begin_ro_rc' : 'begin'] : plan.readOnly ? ['savepoint', 'read_only'] : []), latchStep(plan.readOnly, facts)]; // the latch before the check (catalog-latch.ts)
      opened = status === 'I' ? 'transaction' : plan.readOnly ? 'savepoint' : null;
      const values = guardParams(names, plan.readOnly, NO_NAMES).map(arrayLiteral);
      if (plan.readOnly) values[GUARD_ALLOWED] = this.allowedLiteral ??= arrayLiteral([...this.allowed]);
      const cache = this.cache && !copies && (await this.cacheReady()) ? this.cache : undefined;
      // The cache is this session's, and so is the allow-list: the key leaves it out.
      const key = cache ? cacheKey(plan.readOnly, values.map((v, i) => (i === GUARD_ALLOWED ? '' : v))) : undefined;
      const cached = key === undefined ? undefined : cache?.get(key);
      if (key !== undefined && cached !== undefined) {
        // Nothing of the gateway's was sent yet (its BEGIN goes in the flight).
        if (cancelledByClient(plan.signal)) return CANCELLED;
        // The verifier, and the check of prepared statements, go in the statement's flight, before it: when one fails, the server skips the statement.
        const verify = [...(check ? [checkStep(check)] : []), { key: 'cache_verify', values: [cached] }];
        lead = [...pre.map((k) => ({ key: k })), ...(opened === null ? [{ key: 'plan_savepoint' }, ...verify, { key: 'plan_release' }] : verify)];
        if (check) this.watch.passed(check);
        const ran = await this.flight(lead, plan, opened, { copies, dropsPrepared, writes });
        if (ran !== 'stale') return ran;
        // The cancel the client sent during the flight may be what failed the verifier: the statement is not sent again.
        if (cancelledByClient(plan.signal)) return CANCELLED;
        cache?.delete(key);
      }
      lead = [];
      fill = key === undefined ? undefined : { key, state: null };
      const state = fill ? [{ key: 'cache_state' }] : [];
      // The state is read before the check, so a change between them makes the cached state older, never newer, than the verdict.
      // The check of the prepared statements goes first: when it fails, the server skips the rest.
      const checking = check ? this.step(checkStep(check)) : undefined;
      const answers = await this.own([...pre.map((k) => ({ key: k })), ...state, { key: 'plan_savepoint' }, { key: 'plan_generic' }, { key: 'guard', values }, { key: 'plan_undo' }, { key: 'plan_release' }]);
      const stop = checking && this.checked(await checking, check!);
      if (stop) return stop;
      const guard = answers.at(-3);
      const failed = answers.find((a) => a.outcome !== 'answered' || a.error);
      if (failed && fill) this.probe = 'pending';
      let row: GuardRow | undefined;
      const text = guard?.messages.find((m) => m.type === 'D');
      if (text) row = JSON.parse(dataRowText(text.body)) as GuardRow;
      const why = failed
        ? { message: `the session check failed on the upstream${failed.error ? ` (${sqlstate(failed.error)})` : ''}; nothing ran` }
        : (snapshotRefusal(status, row) ?? refusal(row, { readOnlyFunctions: this.options.readOnlyFunctions }, plan.readOnly));
      if (why) {
        await this.undo(opened);
        return refused('SQL_SESSION_UNSAFE', why.message);
      }
      const stateRow = fill ? answers[pre.length]?.messages.find((m) => m.type === 'D') : undefined;
      if (fill && stateRow) fill.state = dataRowNullableText(stateRow.body);
      if (fill?.state) this.cache?.set(fill.key, fill.state);
    }
    // A cancel that came while the gateway ran its own statements (the check) is for this statement: it is not sent.
    if (cancelledByClient(plan.signal)) {
      await this.undo(opened);
      return CANCELLED;
    }
    const ran = await this.flight(lead, plan, opened, { copies, dropsPrepared, writes });
    if (ran === 'stale' && cancelledByClient(plan.signal)) return CANCELLED;
    return ran === 'stale' ? refused('SQL_SESSION_UNSAFE', 'the session check failed on the upstream; nothing ran') : ran;
  }

  /**
   * Sends `lead` (the gateway's statements that must pass first), the client's
   * parts and, outside a block, the gateway's COMMIT, in one flight; 'stale'
   * when a lead statement failed: the server skipped the client's parts, and
   * the gateway's transaction or savepoint is undone.
   */
  private async flight(lead: readonly Step[], plan: RunPlan, opened: Opened, opts: { copies: boolean; dropsPrepared: boolean; writes: boolean }): Promise<WireOutcome | 'stale'> {
    const relay = this.relay;
    relay.takeOutcome();
    // What is not read-only may run SQL of its own, which may prepare names again (prepared-watch.ts).
    if (opts.writes) this.watch.wrote();
    // Whatever it drops, the gateway's statements are prepared again before their next use.
    if (opts.dropsPrepared) this.prepared = false;
    const first = lead.map((s) => this.step(s));
    const query = plan.parts.length === 1 && plan.parts[0]!.kind === 'query';
    // While the flight is on the upstream, a cancel from the client goes there: it cancels what runs (the statement, or
    // the gateway's statements around it, which then keep nothing). Nothing more is written until the server handled it.
    const forward = () => {
      if (cancelledByClient(plan.signal) && this.options.cancel) relay.holdFor(this.options.cancel());
    };
    // Once its answers are in, what follows is the gateway's (a ROLLBACK after an error, say): a cancel then reaches nothing.
    const landed = () => plan.signal?.removeEventListener('abort', forward);
    plan.signal?.addEventListener('abort', forward, { once: true });
    try {
      return await this.flown(first, { query, lead, plan, opened, landed }, opts);
    } finally {
      landed();
    }
  }

  private async flown(first: readonly Promise<Answer>[], f: { query: boolean; lead: readonly Step[]; plan: RunPlan; opened: Opened; landed: () => void }, opts: { copies: boolean }): Promise<WireOutcome | 'stale'> {
    const { query, lead, plan, opened, landed } = f;
    const relay = this.relay;
    if (query) {
      const sent = relay.send(bytes(plan.parts[0]!.raw), 'query', 'client');
      // The gateway's COMMIT goes with the Query (one round trip): after an error in it, COMMIT ends the failed transaction
      // as ROLLBACK would; after the client's own COMMIT it only warns, to the gateway. Sent as text, since the Query may
      // have deallocated the gateway's statements. A COMMIT that fails (a deferred constraint) is the client's error: nothing was kept.
      const commit = opened === 'transaction' && !opts.copies ? relay.send(serialize.query('COMMIT'), 'query', 'gateway') : undefined;
      if (lead.length > 0) await relay.send(serialize.sync(), 'sync', 'gateway');
      const last = await (commit ?? sent);
      landed();
      if (await this.leadFailed(first, opened)) return 'stale';
      if (commit && last.error) relay.passError(last.error);
      if (!commit) await this.finish(opened);
    } else {
      const answers = plan.parts.map((p) => relay.send(bytes(p.raw), p.kind, 'client'));
      // Optimistic: the end of the gateway's transaction or savepoint goes with the statement; after an error the server skips it.
      const post = opened === 'transaction' ? [{ key: 'commit' }] : opened === 'savepoint' ? [{ key: 'undo' }, { key: 'release' }] : [];
      const ended = await this.own(post);
      landed();
      if (await this.leadFailed(first, opened)) return 'stale';
      await tell(plan.parts, answers);
      const commitError = opened === 'transaction' ? ended[0]?.error : undefined;
      if (commitError) relay.passError(commitError);
      if (relay.status === 'E' && opened === 'transaction') await this.own([{ key: 'rollback' }]);
    }
    if (relay.lost) return { ok: false, relayed: false, output: null, summary: {}, error: { code: 'EXECUTION_FAILED', message: 'lost the upstream connection while running the statement' } };
    const outcome = relay.takeOutcome();
    const summary = { tags: outcome.tags };
    if (!outcome.error) return { ok: true, relayed: false, output: { tags: outcome.tags }, summary };
    const code = sqlstate(outcome.error);
    return { ok: false, relayed: true, output: { sqlstate: code }, summary: { ...summary, sqlstate: code }, error: { code: 'EXECUTION_FAILED', message: `postgres ${code}: ${noticeFields(outcome.error)['M'] ?? ''}` } };
  }

  /** Fails the client's open transaction block (see WireUpstream.fail). */
  async fail(): Promise<void> {
    if (this.relay.status !== 'T') return;
    if (!this.prepared && !(await this.prepare())) {
      // Without the gateway's statements, the block cannot be failed: end it instead of letting a COMMIT keep it.
      await this.relay.send(serialize.query('ROLLBACK'), 'query', 'gateway');
      return;
    }
    // The gateway's statement that fails the block may have been prepared again since a write: checked first.
    if (this.watch.pending && this.checked((await this.own([checkStep([null, null])]))[0], [null, null])) return;
    await this.own([{ key: 'fail' }]);
  }

  /** After the check of the prepared statements: undefined when it passed; else the session is closed, and the refusal. */
  private checked(answer: Answer | undefined, values: readonly (string | null)[]): WireOutcome | undefined {
    if (answer?.outcome === 'answered' && !answer.error) {
      this.watch.passed(values);
      return undefined;
    }
    this.relay.close(new Error(CHECK_FAILED));
    return refused('SQL_SESSION_UNSAFE', CHECK_FAILED);
  }

  private async prepare(): Promise<boolean> {
    this.prepared = await prepareOwn(this.relay);
    this.probe = 'pending';
    return this.prepared;
  }

  /**
   * Whether the cache can be used: its statements prepared and the counter
   * read once (inside the client's block, under a savepoint undone on error).
   * A database without the trigger's table turns the cache off for the session.
   */
  private async cacheReady(): Promise<boolean> {
    if (this.probe !== 'pending' || !this.cacheSql) return this.probe === 'ok';
    const status = this.relay.status;
    if (status === 'E') return false;
    const block = status === 'T';
    const statements = Object.entries({ cache_state: this.cacheSql.state, cache_verify: this.cacheSql.verify }).flatMap(([key, text]) => [
      this.relay.send(serialize.close({ type: 'S', name: RESERVED_PREFIX + key }), 'close', 'gateway'),
      this.relay.send(serialize.parse({ name: RESERVED_PREFIX + key, text, types: [] }), 'parse', 'gateway'),
    ]);
    const sent = [...(block ? [this.step({ key: 'plan_savepoint' })] : []), ...statements, this.step({ key: 'cache_state' }), ...(block ? [this.step({ key: 'plan_release' })] : [])];
    await this.relay.send(serialize.sync(), 'sync', 'gateway');
    const ok = (await Promise.all(sent)).every((a) => a.outcome === 'answered' && !a.error);
    if (!ok && block) await this.text(`${OWN['plan_undo']}; ${OWN['plan_release']}`);
    this.probe = ok ? 'ok' : 'off';
    return ok;
  }

  /** After a flight whose lead statements failed (the server skipped the rest): undoes the gateway's transaction or savepoint. */
  private async leadFailed(first: readonly Promise<Answer>[], opened: Opened): Promise<boolean> {
    const answers = await Promise.all(first);
    if (this.relay.lost || answers.every((a) => a.outcome === 'answered' && !a.error)) return false;
    this.relay.takeOutcome();
    if (opened === null) await this.text(`${OWN['plan_undo']}; ${OWN['plan_release']}`);
    else await this.undo(opened);
    return true;
  }

  /** After a simple Query: end the gateway's transaction (commit, or roll back a failed one; a failed COMMIT is the client's error) or undo its savepoint. */
  private async finish(opened: Opened): Promise<void> {
    const s = this.relay.status;
    if (opened === 'transaction' && s !== 'I') {
      const [ended] = await this.own([{ key: s === 'T' ? 'commit' : 'rollback' }]);
      if (s === 'T' && ended?.error) this.relay.passError(ended.error);
    }
    if (opened === 'savepoint' && s === 'T') await this.own([{ key: 'undo' }, { key: 'release' }]);
  }

  /** After a refusal or a failed check: as text, since a statement that failed left the gateway's portal open until then. */
  private async undo(opened: Opened): Promise<void> {
    if (opened === 'transaction') await this.text('ROLLBACK');
    if (opened === 'savepoint') await this.text(`${OWN['undo']}; ${OWN['release']}`);
  }

  private async text(sql: string): Promise<void> {
    await this.relay.send(serialize.query(sql), 'query', 'gateway');
  }

  /** Runs the gateway's own prepared statements in order, then a Sync; the answer of each. */
  private async own(steps: readonly Step[]): Promise<Answer[]> {
    const answers = steps.map((s) => this.step(s));
    await this.relay.send(serialize.sync(), 'sync', 'gateway');
    return Promise.all(answers);
  }

  /** Sends one of the gateway's statements (Bind, Execute, Close; no Sync); the Execute's answer. */
  private step(s: Step): Promise<Answer> {
    if (s.parse) {
      const name = RESERVED_PREFIX + s.key;
      void this.relay.send(serialize.close({ type: 'S', name }), 'close', 'gateway');
      void this.relay.send(serialize.parse({ name, text: s.parse.text, types: [...s.parse.types] }), 'parse', 'gateway');
    }
    void this.relay.send(bindOwn(s.key, s.values), 'bind', 'gateway');
    const run = this.relay.send(EXECUTE_PORTAL, 'execute', 'gateway');
    void this.relay.send(CLOSE_PORTAL, 'close', 'gateway');
    return run;
  }
}
