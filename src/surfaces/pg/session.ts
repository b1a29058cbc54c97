/**
 * A wire client's session after startup: reads its messages one at a time and
 * turns each statement — a simple Query, or an Execute of the extended
 * protocol with its bound parameters — into an action (statement.ts).
 *
 * Parse, Bind and Describe run nothing: they are kept and sent upstream with
 * the Execute they lead to, after the statement was judged, or with the Sync
 * or Flush when none follows (upstream, a Flush goes as a Sync of the
 * gateway's: the transaction a Parse opens, and the locks it took, end with
 * it). After an error in an extended-protocol batch, the rest
 * of it up to the Sync is skipped, as Postgres does. A COPY FROM STDIN's data
 * is read before the statement is judged, and is part of its action (copy-in.ts).
 */
import { copyInShapeSoon } from '../../adapters/executor/sql/copy-in.ts';
import { MAX_PARAMS_CHARS, MAX_SQL_CHARS, paramsChars, type SqlInput } from '../../core/action.ts';
import { heldFull, PORTALS_FULL, PREPARED_FULL } from './prepared-cap.ts';
import type { WirePart, WireUpstream } from '../../core/ports.ts';
import { backend, FrontendReader, ProtocolError, type FrontendMessage } from './protocol.ts';
import { copyInResponse, DEFAULT_MAX_COPY_BYTES, readCopyIn } from './copy-in.ts';
import { paramFormat, paramText } from './params.ts';
import { MAX_NAME_BYTES, namesOf, RESERVED } from './names.ts';
import { strayPart } from './ride-along.ts';
import { runStatement, SQLSTATE, type StatementContext } from './statement.ts';

/**
 * How many bytes of messages may wait to be handled before the session stops
 * reading the client (and TCP makes it wait): without a bound, a client that
 * pipelines behind a held or slow statement fills the gateway's memory.
 */
export const QUEUE_BYTES = 1 << 20;

/**
 * SQL statement types that change the prepared statements (PREPARE, DEALLOCATE,
 * DISCARD) or portals (DECLARE, CLOSE, DISCARD) of the upstream session behind
 * the protocol messages the gateway follows: after one, the gateway forgets
 * every name of that kind, and a Bind or Execute of one is refused (26000,
 * 34000) until it is prepared or bound again, rather than judged by what the
 * name held before.
 */
const RENAMES_STATEMENTS: ReadonlySet<string> = new Set(['prepare', 'deallocate', 'discard']);
const RENAMES_PORTALS: ReadonlySet<string> = new Set(['declare_cursor', 'close_portal', 'discard']);

/**
 * Text longer than an action's SQL may be is refused before anything parses it: the parser runs on the gateway's one
 * thread and its memory never shrinks, and a message may carry far more (maxMessageBytes).
 */
const overlong = (sql: string): boolean => sql.length > MAX_SQL_CHARS;
const OVERLONG = `a statement may have at most ${MAX_SQL_CHARS} characters (as an action's SQL); nothing was judged or ran`;

interface Bound {
  readonly sql: string;
  readonly params: (string | null)[];
  /** The parameter types its Parse declared (0: left to the server). */
  readonly types: readonly number[];
}

export interface SessionOptions {
  readonly maxMessageBytes: number;
  /** The most data one COPY FROM STDIN may carry (DEFAULT_MAX_COPY_BYTES when not given). */
  readonly maxCopyBytes?: number;
  /** The reader of the startup phase and what it had already read past the password. */
  readonly reader?: FrontendReader;
  readonly initial?: readonly FrontendMessage[];
}

/**
 * Serves one client until it terminates or goes away.
 *
 * @example
 * await serveSession(inbox, ctx, upstream, { maxMessageBytes: 64 << 20 });
 */
export async function serveSession(
  read: { take(): Buffer; more(): Promise<boolean> },
  ctx: Omit<StatementContext, 'signal'> & {
    cancelled: () => AbortSignal;
    settled?: () => void;
    /** Checks the session's credential again (server.ts); throws a ProtocolError, which ends the session, once it lapsed. */
    credential?: () => Promise<void>;
    /** The client's output (client-output.ts): held while messages are handled, written at ReadyForQuery, a Flush, or before waiting. */
    output?: { hold(): void; flush(): void; release(): void };
  },
  upstream: WireUpstream,
  options: SessionOptions,
): Promise<void> {
  const reader = options.reader ?? new FrontendReader({ maxMessageBytes: options.maxMessageBytes });
  const statements = new Map<string, { sql: string; types: readonly number[] }>();
  const portals = new Map<string, Bound>();
  let held: WirePart[] = [];
  let skipping = false;
  /**
   * Names a Parse or Bind set before the upstream had answered it: one the
   * upstream did not accept (a name taken, a bad parameter, skipped after an
   * error, never sent) goes back to what it was, so the gateway never judges
   * a Bind or Execute by a statement the upstream does not hold under that name.
   */
  let unconfirmed: { map: Map<string, unknown>; undo: () => void; ok: boolean }[] = [];
  const tentatively = <T,>(map: Map<string, T>, name: string, value: T, raw: Buffer, kind: 'parse' | 'bind', statement: string): WirePart => {
    const before = map.get(name);
    const change = { map: map as Map<string, unknown>, undo: () => (before === undefined ? map.delete(name) : map.set(name, before)), ok: false };
    unconfirmed.push(change);
    map.set(name, value);
    return { raw, kind, statement, accepted: () => (change.ok = true) };
  };
  /** After parts went upstream (or were dropped): undoes, newest first, what the upstream did not accept. */
  const settle = () => {
    for (const c of unconfirmed.reverse()) if (!c.ok) c.undo();
    unconfirmed = [];
  };
  const queue: FrontendMessage[] = [...(options.initial ?? [])];

  const fail = (code: string, message: string) => {
    ctx.send(backend.error({ severity: 'ERROR', code, message }));
    skipping = true;
  };

  /** `portal`: the portal an Execute runs (kept when the statement was not read-only; see below). */
  const statement = async (input: SqlInput, parts: WirePart[], paramTypes: readonly number[] = [], portal?: string, copyIn?: Buffer) => {
    // One server span per statement: the wire protocol carries no trace context, so each starts a trace.
    // A CancelRequest reaches this statement from here until its answer, and nothing after it (server.ts).
    const signal = ctx.cancelled();
    const { failed, types, readOnly } = await ctx.deps.tracer
      .serve('pg statement', { 'countersign.connection': ctx.connection, 'db.system.name': 'postgresql' }, undefined, () => runStatement({ ...ctx, signal }, input, parts, paramTypes, copyIn))
      .finally(() => ctx.settled?.());
    for (const [kinds, map] of [[RENAMES_STATEMENTS, statements], [RENAMES_PORTALS, portals]] as const) {
      if (!types.some((t) => kinds.has(t))) continue;
      map.clear();
      // Nothing to put back into a map just forgotten.
      unconfirmed = unconfirmed.filter((c) => c.map !== map);
    }
    // What is not read-only may run SQL of its own (a DO block, a trigger) that closes a portal suspended in the client's
    // block and opens another under its name (PL/pgSQL's OPEN of a refcursor holding that name): continued, it would run
    // what no one judged. Every other portal is forgotten (34000 at its next Execute); the statement's own portal was
    // running meanwhile, which PostgreSQL does not let anything close.
    if (!readOnly) for (const name of [...portals.keys()]) if (name !== portal) portals.delete(name);
    return failed;
  };

  /**
   * Portals of the Binds held. Binding runs code on the server (each
   * parameter's input function, a domain's CHECK), so a Bind goes upstream only
   * with the Execute of its own portal, judged: one that no Execute follows
   * before the Sync, Flush or Query is refused, as is an Execute that another
   * portal's Bind would ride along with.
   */
  let binds: string[] = [];
  const unexecuted = (portal?: string): boolean => {
    // One Bind per Execute: a second Bind of the same portal (the unnamed one replaces itself) would ride along too.
    const stray = binds.some((b) => b !== portal) || binds.length > 1;
    if (stray) fail('0A000', 'a Bind must be followed by the Execute of its portal before any other message that sends it: the gateway judges a statement with its parameters only at its Execute');
    return stray;
  };

  /** The client is told when the session check kept what was held from the upstream (none of it ran). */
  const unsent = (why?: string) => void (why === undefined || ctx.send(backend.error({ severity: 'ERROR', code: SQLSTATE.unsafe, message: why })));

  /** Sends what is held, for a Flush: false when the upstream did not accept all of it (the batch failed there). */
  const flushHeld = async (): Promise<boolean> => {
    const before = held.splice(0);
    let accepted = 0;
    const counted = before.map((p) => ({ ...p, accepted: () => (p.accepted?.(), accepted++) }));
    if (counted.length > 0) unsent(await upstream.sync(counted));
    return accepted === counted.length;
  };

  /** A simple Query; a COPY FROM STDIN's data is read first, and judged with it. 'end': the client left during its COPY. */
  const query = async (sql: string, raw: Buffer): Promise<'go' | 'end'> => {
    const soon = copyInShapeSoon(sql, ctx.principal.id);
    const shape = soon instanceof Promise ? await soon : soon;
    if (shape === undefined) return (await statement({ sql }, [{ raw, kind: 'query' }]), 'go');
    /** An answer of the gateway's: nothing ran; inside the client's block, the block fails as on the statement's own error. */
    const refuse = async (code: string, message: string) => {
      ctx.send(backend.error({ severity: 'ERROR', code, message }));
      if (upstream.status() === 'T') await upstream.fail();
      return 'go' as const;
    };
    if (shape.statements > 1) return refuse('0A000', 'COPY FROM STDIN must be sent on its own, not in a string of several statements: its data is judged with it; nothing ran');
    ctx.send(copyInResponse(shape), true);
    const got = await readCopyIn(next, shape, options.maxCopyBytes ?? DEFAULT_MAX_COPY_BYTES);
    if (got.kind === 'gone') return 'end';
    if (got.kind === 'failed') return refuse(got.code, got.message);
    // The data may have taken longer than the credential lasts: checked again before anything of it is submitted.
    await ctx.credential?.();
    await statement({ sql, copy: got.copy }, [{ raw, kind: 'query' }], [], undefined, got.frames);
    return 'go';
  };

  const handle = async (m: FrontendMessage): Promise<'go' | 'end'> => {
    if (m.type === 'terminate') return 'end';
    // Before anything of the message is kept or sent: a lapsed credential runs nothing more, not even a Parse.
    await ctx.credential?.();
    if (m.type === 'sync') {
      if (!skipping) unexecuted();
      const parts = held;
      held = [];
      binds = [];
      if (!skipping && parts.length > 0) unsent(await upstream.sync(parts));
      settle();
      skipping = false;
      if (upstream.status() === 'I') portals.clear(); // As Postgres: a transaction's end drops its portals.
      ctx.send(backend.readyForQuery(upstream.status()), true);
      return 'go';
    }
    if (m.type === 'query') {
      // A simple Query ends any extended batch: what was held is sent first, as the server would have had it.
      if (!skipping) unexecuted();
      if (held.length > 0 && !skipping) unsent(await upstream.sync(held.splice(0)));
      held = [];
      binds = [];
      settle();
      skipping = false;
      statements.delete('');
      portals.delete('');
      if (overlong(m.sql)) {
        ctx.send(backend.error({ severity: 'ERROR', code: '54000', message: OVERLONG }));
        // Inside the client's block, the block fails as on the statement's own error.
        if (upstream.status() === 'T') await upstream.fail();
      } else if (m.sql.trim() === '' || /^[\s;]*$/.test(m.sql)) ctx.send(backend.emptyQuery());
      else if ((await query(m.sql, m.raw)) === 'end') return 'end';
      ctx.send(backend.readyForQuery(upstream.status()), true);
      return 'go';
    }
    if (skipping) return 'go';
    if (namesOf(m).some((n) => Buffer.byteLength(n, 'utf8') > MAX_NAME_BYTES)) {
      return (fail('42622', `statement and portal names are at most ${MAX_NAME_BYTES} bytes: Postgres reads no more of them`), 'go');
    }
    switch (m.type) {
      case 'parse':
        if (RESERVED.test(m.name)) return (fail('42P05', `prepared statement names starting "countersign_" are the gateway's`), 'go');
        if (overlong(m.sql)) return (fail('54000', OVERLONG), 'go');
        if (heldFull(statements, m.name, m.sql.length, (s) => s.sql.length)) return (fail('53400', PREPARED_FULL), 'go');
        held.push(tentatively(statements, m.name, { sql: m.sql, types: m.paramTypes }, m.raw, 'parse', m.name));
        return 'go';
      case 'bind': {
        if (RESERVED.test(m.portal) || RESERVED.test(m.statement)) return (fail('42P03', `portal and statement names starting "countersign_" are the gateway's`), 'go');
        const prepared = statements.get(m.statement);
        if (prepared === undefined) return (fail('26000', `prepared statement "${m.statement.slice(0, 63)}" does not exist`), 'go');
        // The action records each value as text; a binary one only of a type whose text it names exactly (params.ts).
        const params = m.params.map((p, i) => (p === null ? null : paramText(p, paramFormat(m.paramFormats, i), prepared.types[i] ?? 0)));
        // Text the client says it sends, which is not UTF-8 (client_encoding is pinned): Postgres' own answer to it.
        if (params.some((p, i) => p === undefined && paramFormat(m.paramFormats, i) === 0)) {
          return (fail('22021', 'a text-format parameter is not valid UTF-8; nothing was judged or ran'), 'go');
        }
        if (params.some((p) => p === undefined)) {
          return (fail('0A000', 'binary-format parameters are supported for bool, int2, int4, int8, float4, float8, bytea, text and varchar with their type given in Parse: send others as text'), 'go');
        }
        // Recorded with the action, as its SQL is: bounded as it is, before anything is judged or recorded.
        if (paramsChars(params as (string | null)[]) > MAX_PARAMS_CHARS) {
          return (fail('54000', `a statement's parameters may have at most ${MAX_PARAMS_CHARS} characters in all (as an action's); nothing was judged or ran`), 'go');
        }
        if (heldFull(portals, m.portal, paramsChars(params as (string | null)[]), (b) => paramsChars(b.params))) return (fail('53400', PORTALS_FULL), 'go');
        held.push(tentatively(portals, m.portal, { sql: prepared.sql, params: params as (string | null)[], types: prepared.types }, m.raw, 'bind', m.statement));
        binds.push(m.portal);
        return 'go';
      }
      case 'describe':
        if (RESERVED.test(m.name)) return (fail('26000', `names starting "countersign_" are the gateway's`), 'go');
        held.push({ raw: m.raw, kind: 'describe', ...(m.kind === 'S' ? { statement: m.name } : {}) });
        return 'go';
      case 'close':
        if (RESERVED.test(m.name)) return (fail('26000', `names starting "countersign_" are the gateway's`), 'go');
        if (m.kind === 'S') statements.delete(m.name);
        else portals.delete(m.name);
        held.push({ raw: m.raw, kind: 'close' });
        return 'go';
      case 'flush': {
        // A Flush asks for every answer so far, the gateway's own errors included.
        if (unexecuted()) return (ctx.output?.flush(), 'go');
        // After an error the rest of the batch, up to the client's Sync, is skipped, as Postgres would.
        if (!(await flushHeld())) skipping = true;
        settle();
        ctx.output?.flush();
        return 'go';
      }
      case 'execute': {
        const bound = portals.get(m.portal);
        if (!bound) return (fail('34000', `portal "${m.portal.slice(0, 63)}" does not exist`), 'go');
        if (unexecuted(m.portal)) return 'go';
        binds = [];
        // Its data would come after the statement was judged: COPY FROM STDIN runs as a simple Query only.
        const soon = copyInShapeSoon(bound.sql, ctx.principal.id);
        if (soon instanceof Promise ? await soon : soon) return (fail('0A000', 'COPY FROM STDIN runs only as a simple Query (psql \\copy), where its data is judged with it; nothing ran'), 'go');
        // An empty statement: nothing to judge, so nothing goes upstream to run. The gateway answers it itself,
        // as Postgres would, after what was held: an Execute sent unjudged would run whatever the upstream holds
        // under that name (prepared again in SQL, say), not what the gateway knows.
        if (/^[\s;]*$/.test(bound.sql)) {
          const ok = await flushHeld();
          settle();
          if (ok) ctx.send(backend.emptyQuery());
          else skipping = true;
          return 'go';
        }
        // A Parse or Describe of another statement would run its literals' input in this one's flight (ride-along.ts).
        if (strayPart(held)) {
          fail('0A000', "a Parse or Describe of another statement than the one executed must not ride along with its Execute: send it with a Sync or Flush of its own; nothing ran");
          // Inside the client's block, the block fails as on the statement's own error.
          if (upstream.status() === 'T') await upstream.fail();
          return 'go';
        }
        const parts = [...held.splice(0), { raw: m.raw, kind: 'execute' as const }];
        const input: SqlInput = bound.params.length > 0 ? { sql: bound.sql, params: bound.params } : { sql: bound.sql };
        if (await statement(input, parts, bound.params.length > 0 ? bound.types : [], m.portal)) skipping = true;
        settle();
        return 'go';
      }
      case 'functionCall':
        fail('0A000', 'the function call protocol is not supported: call the function in a statement');
        return 'go';
      case 'copyData':
      case 'copyDone':
      case 'copyFail':
        // COPY data after the COPY ended (the server ignores it, and so does the gateway).
        return 'go';
      case 'password':
        throw new ProtocolError('08P01', 'a password message outside authentication');
    }
  };

  // Reading runs on its own: a CancelRequest or the client's going away must be seen while a statement runs or is held.
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let queued = queue.reduce((n, m) => n + m.raw.length, 0);
  let drained: (() => void) | undefined;
  const pump = (async () => {
    try {
      for (;;) {
        while (queued > QUEUE_BYTES) await new Promise<void>((r) => (drained = r));
        drained = undefined;
        if (!(await read.more())) break;
        for (const m of reader.push(read.take())) {
          queue.push(m);
          queued += m.raw.length;
        }
        wake?.();
      }
    } catch (e) {
      failure = e;
    }
    ended = true;
    wake?.();
  })();

  /** The oldest message read and not yet handled. */
  function shift(): FrontendMessage {
    const m = queue.shift()!;
    queued -= m.raw.length;
    if (queued <= QUEUE_BYTES) drained?.();
    return m;
  }
  /** The next message, waiting for the client if need be; undefined once it is gone. */
  async function next(): Promise<FrontendMessage | undefined> {
    for (;;) {
      if (queue.length > 0) return shift();
      if (failure) throw failure;
      if (ended) return undefined;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  }

  try {
    for (;;) {
      while (queue.length > 0) {
        ctx.output?.hold();
        if ((await handle(shift())) === 'end') return;
      }
      // Nothing more to handle: what was answered leaves before the session waits for the client.
      ctx.output?.release();
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    void pump;
  }
}
