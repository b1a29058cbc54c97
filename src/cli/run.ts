/**
 * `countersign run`: the agent's side of the CLI. Submits one action with the
 * agent's own key, waits on the request's durable handle (long-poll) while it
 * is held, prints the result to stdout and everything else to stderr, and
 * exits with a code per outcome (run-exit.ts). It only submits, reads and —
 * on `--cancel-on-interrupt` — withdraws its own request; it has no way to
 * review one.
 */
import { CountersignApiError, createClient, type CountersignClient, type RequestView } from '../surfaces/sdk/client.ts';
import { bearerFor } from './credentials.ts';
import type { RemoteOptions } from './requests.ts';
import { RUN_EXIT } from './run-exit.ts';
import { runAction, type RunInputOptions } from './run-input.ts';
import { heldText, outcomeText, resultText, tickerText } from './run-output.ts';
import { safe, safeJson } from './output.ts';
import { UsageError } from './usage-error.ts';

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

const err = (text: string) => process.stderr.write(text);

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
function ticker(tty: boolean, since: number) {
  let current: RequestView | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => current && err(`\r\x1b[K${tickerText(current, Date.now() - since)}`);
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
        err('\r\x1b[K');
      }
    },
  };
}

/** An API refusal or an unreachable gateway, as one line (the key is never in it): exit 1. */
function refusal(e: unknown, o: RunCommandOptions, id?: string): number {
  const during = id ? ` (request ${id} was submitted: countersign requests show ${id})` : '';
  if (e instanceof CountersignApiError) {
    err(`${safe(`countersign: ${e.code}: ${e.message}`)}${safe(during)}\n`);
    if (o.json) process.stdout.write(`${safeJson({ error: { code: e.code, message: e.message }, ...(id ? { requestId: id } : {}) })}\n`);
    return RUN_EXIT.refused;
  }
  if (e instanceof TypeError && /fetch failed/.test(e.message)) {
    err(`${safe(`countersign: cannot reach the gateway at ${o.url} (${(e.cause as Error | undefined)?.message ?? e.message})${during}; set --url or COUNTERSIGN_URL.`)}\n`);
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
async function interrupted(cs: CountersignClient, r: RequestView, o: RunCommandOptions): Promise<number> {
  let now = r;
  if (o.cancelOnInterrupt && r.status === 'pending') {
    try {
      now = await cs.cancel(r.id, 'interrupted: countersign run was stopped (--cancel-on-interrupt)');
    } catch (e) {
      // Decided meanwhile, or the gateway is gone: say so, and how it stood when last seen.
      err(`${safe(`countersign: could not cancel request ${r.id}: ${e instanceof CountersignApiError ? `${e.code}: ${e.message}` : 'the gateway did not answer'}`)}\n`);
      now = await cs.get(r.id).catch(() => r);
    }
  }
  const follow = `Follow it with: countersign requests show ${now.id}`;
  const line =
    now.status === 'cancelled' ? `cancelled request ${now.id} (--cancel-on-interrupt)` : now.status === 'pending' ? `request ${now.id} is still pending, waiting for its reviewers. ${follow}` : `request ${now.id} is ${now.status}. ${follow}`;
  err(`${safe(`countersign: interrupted; ${line}`)}\n`);
  if (o.json) process.stdout.write(`${safeJson(now)}\n`);
  return RUN_EXIT.interrupted;
}

function finish(r: RequestView, o: RunCommandOptions, held: boolean, waitedSeconds?: number): number {
  if (o.json) {
    process.stdout.write(`${safeJson(r)}\n`);
  } else {
    const out = resultText(r);
    process.stdout.write(out.stdout);
    err(out.stderr);
  }
  err(outcomeText(r, { held, ...(waitedSeconds !== undefined ? { waitedSeconds } : {}) }));
  return EXIT_BY_STATUS[r.status];
}

/**
 * @example
 * // countersign run orders-db --sql "select count(*) from orders" --reason "daily check"
 * process.exitCode = await runCommand('orders-db', [], { url, sql: 'select count(*) from orders', reason: 'daily check' });
 */
export async function runCommand(connection: string, argv: readonly string[], o: RunCommandOptions): Promise<number> {
  const action = runAction(connection, argv, o);
  const key = bearerFor(o.url, o.key);
  if (!key) throw new UsageError('no credential: pass --key, set COUNTERSIGN_KEY, or run `countersign login`');
  const cs = clientFor(o.url, key);
  const tty = process.stderr.isTTY === true;
  const since = Date.now();

  const ac = new AbortController();
  let submitted: RequestView | undefined;
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(RUN_EXIT.interrupted);
    ac.abort();
    if (!submitted) err('\ncountersign: interrupted; waiting for the answer to the submission, to print the request id (Ctrl-C again to quit without it)\n');
  };
  process.on('SIGINT', onSigint);
  const tick = ticker(tty, since);
  try {
    try {
      submitted = requestOf(await cs.submit(action, o.idempotencyKey === undefined ? {} : { idempotencyKey: o.idempotencyKey }));
    } catch (e) {
      return refusal(e, o);
    }
    let r = submitted;
    const held = r.status === 'pending';
    if (held) err(heldText(r, tty));
    if (['pending', 'approved', 'executing'].includes(r.status)) {
      if (ac.signal.aborted) return await interrupted(cs, r, o);
      tick.start(r);
      // Said once per outage; on a terminal above the live line, which goes on counting.
      let lost = false;
      const onLost = (e: unknown) => {
        if (lost) return;
        lost = true;
        err(`${tty ? '\r\x1b[K' : ''}${safe(`countersign: lost the gateway while waiting (${e instanceof CountersignApiError ? e.code : 'unreachable'}); request ${r.id} outlives it: trying again`)}\n`);
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
        if (ac.signal.aborted) return await interrupted(cs, r, o);
        return refusal(e, o, r.id);
      }
      tick.stop();
      if (ac.signal.aborted && !['succeeded', 'failed', 'denied', 'expired', 'cancelled'].includes(r.status)) return await interrupted(cs, r, o);
      return finish(r, o, held, o.timeout);
    }
    return finish(r, o, held);
  } finally {
    tick.stop();
    process.removeListener('SIGINT', onSigint);
  }
}
