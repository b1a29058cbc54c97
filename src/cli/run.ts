/**
 * `countersign run`: the agent's side of the CLI. Submits one action with the
 * agent's own key, waits on the request's durable handle (long-poll) while it
 * is held, prints the result to stdout and everything else to stderr, and
 * exits with a code per outcome (run-exit.ts). It only submits, reads and —
 * on `--cancel-on-interrupt` — withdraws its own request; it has no way to
 * review one.
 */
import { CountersignApiError, createClient, type ActionRequest, type CountersignClient, type RequestView } from '../surfaces/sdk/client.ts';
import { bearerFor } from './credentials.ts';
import type { RemoteOptions } from './requests.ts';
import { RUN_EXIT } from './run-exit.ts';
import { runAction, type RunInputOptions } from './run-input.ts';
import { heldText, outcomeText, resultText, tickerText } from './run-output.ts';
import { safe, safeJson } from './output.ts';
import { UsageError } from './usage-error.ts';
import type { CliIo } from './io.ts';

export interface RunCommandOptions extends RemoteOptions, RunInputOptions {
  /** Seconds to wait for a decision and a result; unset: until the request settles. */
  timeout?: number;
  cancelOnInterrupt?: boolean;
  /** Sent as Idempotency-Key: a rerun under it (a retried CI job) finds the request the first run made. */
  idempotencyKey?: string;
}

const EXIT_BY_STATUS: Readonly<Record<RequestView['status'], number>> = {
  succeeded: RUN_EXIT.succeeded,
  failed: RUN_EXIT.failed,
  denied: RUN_EXIT.denied,
  expired: RUN_EXIT.expired,
  cancelled: RUN_EXIT.cancelled,
  pending: RUN_EXIT.timedOut,
  approved: RUN_EXIT.timedOut,
  executing: RUN_EXIT.timedOut,
};

/**
 * The answer as a request, or INVALID_RESPONSE: something else at the URL (another
 * service, a proxy's page, an impostor) must end as a refusal, never as exit 0.
 */
function requestOf(r: RequestView): RequestView {
  const v = r as Partial<RequestView> | null | undefined;
  const isObject = (x: unknown) => typeof x === 'object' && x !== null;
  const ok =
    isObject(v) &&
    typeof v!.id === 'string' &&
    v!.id !== '' &&
    typeof v!.status === 'string' &&
    Object.hasOwn(EXIT_BY_STATUS, v!.status) &&
    isObject(v!.action) &&
    isObject(v!.connection) &&
    Array.isArray(v!.reviews) &&
    Array.isArray(v!.decision?.rules) &&
    Array.isArray(v!.approvals?.remaining);
  if (!ok) throw new CountersignApiError(0, 'INVALID_RESPONSE', 'the answer is not a Countersign request: is --url (COUNTERSIGN_URL) the gateway?', r);
  return r;
}

/** The client, or a usage error for a URL or key it refuses (said without quoting either). */
function clientFor(url: string, key: string): CountersignClient {
  try {
    return createClient({ url, key });
  } catch (e) {
    throw e instanceof TypeError ? new UsageError(e.message.replace(/^countersign: /, '')) : e;
  }
}

/** The live elapsed time on a terminal, redrawn in place each second; nothing on a pipe. */
function ticker(tty: boolean, since: number, io: CliIo) {
  let current: RequestView | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => current && io.stderr.write(`\r\x1b[K${tickerText(current, Date.now() - since)}`);
  return {
    start(r: RequestView) {
      current = r;
      if (!tty) return;
      draw();
      timer = setInterval(draw, 1000);
    },
    update(r: RequestView) {
      current = r;
      if (tty && timer) draw();
    },
    stop() {
      if (timer) {
        clearInterval(timer);
        timer = undefined;
        io.stderr.write('\r\x1b[K');
      }
    },
  };
}

/** An API refusal or an unreachable gateway, as one line (the key is never in it): exit 1. */
function refusal(e: unknown, o: RunCommandOptions, id: string | undefined, io: CliIo): number {
  const during = id ? ` (request ${id} was submitted: countersign requests show ${id})` : '';
  if (e instanceof CountersignApiError) {
    io.stderr.write(`${safe(`countersign: ${e.code}: ${e.message}`)}${safe(during)}\n`);
    if (o.json) io.stdout.write(`${safeJson({ error: { code: e.code, message: e.message }, ...(id ? { requestId: id } : {}) })}\n`);
    return RUN_EXIT.refused;
  }
  if (e instanceof TypeError && /fetch failed/.test(e.message)) {
    io.stderr.write(`${safe(`countersign: cannot reach the gateway at ${o.url} (${(e.cause as Error | undefined)?.message ?? e.message})${during}; set --url or COUNTERSIGN_URL.`)}\n`);
    return RUN_EXIT.refused;
  }
  throw e;
}

/** A failure of the gateway, not an answer about the request: it may be restarting; the request id outlives it. */
function transient(e: unknown): boolean {
  if (e instanceof TypeError && /fetch failed/.test(e.message)) return true;
  return e instanceof CountersignApiError && (e.status === 502 || e.status === 503 || e.status === 504 || e.code === 'STORE_UNAVAILABLE' || e.code === 'STORE_BUSY');
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((done) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), done()), { once: true });
  });

/**
 * Waits on the request's durable handle until it settles or `deadline`, through
 * a restart of the gateway: a lost connection or a 503 is said once and tried
 * again (backing off to 5 s), since the request outlives the gateway process.
 */
async function settleThrough(cs: CountersignClient, id: string, deadline: number, signal: AbortSignal, onChange: (r: RequestView) => void, onLost: (e: unknown) => void): Promise<RequestView> {
  let backoff = 500;
  for (;;) {
    try {
      return await cs.settle(id, { timeoutMs: Math.max(0, deadline - Date.now()), signal, onChange });
    } catch (e) {
      if (signal.aborted || !transient(e) || Date.now() + backoff >= deadline) throw e;
      onLost(e);
      await pause(backoff, signal);
      backoff = Math.min(backoff * 2, 5000);
    }
  }
}

/** Ctrl-C while waiting: the request stays pending, or is withdrawn with --cancel-on-interrupt. */
async function interrupted(cs: CountersignClient, r: RequestView, o: RunCommandOptions, io: CliIo): Promise<number> {
  let now = r;
  if (o.cancelOnInterrupt && r.status === 'pending') {
    try {
      now = await cs.cancel(r.id, 'interrupted: countersign run was stopped (--cancel-on-interrupt)');
    } catch (e) {
      // Decided meanwhile, or the gateway is gone: say so, and how it stood when last seen.
      io.stderr.write(`${safe(`countersign: could not cancel request ${r.id}: ${e instanceof CountersignApiError ? `${e.code}: ${e.message}` : 'the gateway did not answer'}`)}\n`);
      now = await cs.get(r.id).catch(() => r);
    }
  }
  const follow = `Follow it with: countersign requests show ${now.id}`;
  const line =
    now.status === 'cancelled' ? `cancelled request ${now.id} (--cancel-on-interrupt)` : now.status === 'pending' ? `request ${now.id} is still pending, waiting for its reviewers. ${follow}` : `request ${now.id} is ${now.status}. ${follow}`;
  io.stderr.write(`${safe(`countersign: interrupted; ${line}`)}\n`);
  if (o.json) io.stdout.write(`${safeJson(now)}\n`);
  return RUN_EXIT.interrupted;
}

function finish(r: RequestView, o: RunCommandOptions, held: boolean, waitedSeconds: number | undefined, io: CliIo): number {
  if (o.json) {
    io.stdout.write(`${safeJson(r)}\n`);
  } else {
    const out = resultText(r);
    io.stdout.write(out.stdout);
    io.stderr.write(out.stderr);
  }
  io.stderr.write(outcomeText(r, { held, ...(waitedSeconds !== undefined ? { waitedSeconds } : {}) }));
  return EXIT_BY_STATUS[r.status];
}

/**
 * The action, with a body from stdin (--body @-) read from `io`: every check of the arguments comes first, as when
 * runAction reads the body itself, and stdin is read only when the body is asked of it.
 */
async function actionOf(connection: string, argv: readonly string[], o: RunCommandOptions, io: CliIo): Promise<ActionRequest> {
  const wantsStdin = Symbol('stdin');
  try {
    return runAction(connection, argv, o, () => {
      throw wantsStdin;
    });
  } catch (e) {
    if (e !== wantsStdin) throw e;
  }
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  const text = Buffer.concat(chunks).toString('utf8');
  return runAction(connection, argv, o, () => text);
}

/**
 * @example
 * // countersign run orders-db --sql "select count(*) from orders" --reason "daily check"
 * process.exitCode = await runCommand('orders-db', [], { url, sql: 'select count(*) from orders', reason: 'daily check' }, processIo());
 */
export async function runCommand(connection: string, argv: readonly string[], o: RunCommandOptions, io: CliIo): Promise<number> {
  const action = await actionOf(connection, argv, o, io);
  const key = bearerFor(o.url, o.key, io.env);
  if (!key) throw new UsageError('no credential: pass --key, set COUNTERSIGN_KEY, or run `countersign login`');
  const cs = clientFor(o.url, key);
  const tty = io.stderr.isTTY === true;
  const since = Date.now();

  const ac = new AbortController();
  let submitted: RequestView | undefined;
  const onSigint = () => {
    if (ac.signal.aborted) io.exit(RUN_EXIT.interrupted);
    ac.abort();
    if (!submitted) io.stderr.write('\ncountersign: interrupted; waiting for the answer to the submission, to print the request id (Ctrl-C again to quit without it)\n');
  };
  const offInterrupt = io.onInterrupt(onSigint);
  const tick = ticker(tty, since, io);
  try {
    try {
      submitted = requestOf(await cs.submit(action, o.idempotencyKey === undefined ? {} : { idempotencyKey: o.idempotencyKey }));
    } catch (e) {
      return refusal(e, o, undefined, io);
    }
    let r = submitted;
    const held = r.status === 'pending';
    if (held) io.stderr.write(heldText(r, tty));
    if (['pending', 'approved', 'executing'].includes(r.status)) {
      if (ac.signal.aborted) return await interrupted(cs, r, o, io);
      tick.start(r);
      // Said once per outage; on a terminal above the live line, which goes on counting.
      let lost = false;
      const onLost = (e: unknown) => {
        if (lost) return;
        lost = true;
        io.stderr.write(`${tty ? '\r\x1b[K' : ''}${safe(`countersign: lost the gateway while waiting (${e instanceof CountersignApiError ? e.code : 'unreachable'}); request ${r.id} outlives it: trying again`)}\n`);
      };
      const onChange = (next: RequestView) => {
        lost = false;
        tick.update(requestOf(next));
      };
      try {
        const deadline = o.timeout === undefined ? Number.POSITIVE_INFINITY : since + o.timeout * 1000;
        r = requestOf(await settleThrough(cs, r.id, deadline, ac.signal, onChange, onLost));
      } catch (e) {
        tick.stop();
        if (ac.signal.aborted) return await interrupted(cs, r, o, io);
        return refusal(e, o, r.id, io);
      }
      tick.stop();
      if (ac.signal.aborted && !['succeeded', 'failed', 'denied', 'expired', 'cancelled'].includes(r.status)) return await interrupted(cs, r, o, io);
      return finish(r, o, held, o.timeout, io);
    }
    return finish(r, o, held, undefined, io);
  } finally {
    tick.stop();
    offInterrupt();
  }
}
