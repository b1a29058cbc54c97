/**
 * Long SQL texts are parsed and walked on a worker thread (analysis-worker.js)
 * with a parser instance of its own. An action's SQL may have 1,000,000
 * characters, and 1,000,000 characters of `SELECT 1;` took seconds to parse
 * and walk: on the thread that answers, every session, REST call and other
 * agent waited meanwhile. Short texts (nearly all) stay on the calling thread,
 * where they cost what they did.
 *
 * One text at a time is analysed. Served in the order they came, one agent
 * sending many long texts at once made every other agent's wait behind all of
 * them and be refused when its time ran out. So each principal may have at
 * most MAX_PER_OWNER texts here (waiting or being analysed; more are refused
 * at once with TOO_MANY_ANALYSES), and the waiting texts are taken principals
 * in turn: the one whose principal was served longest ago goes next. A text
 * may wait up to its wait limit (refused then with TOO_MANY_ANALYSES: the
 * thread is busy with others'), not counting the start of a new worker (on a
 * loaded machine that took seconds, and it is nobody's text: a waiting text
 * is refused only once its limit has run out and no worker is starting, or a
 * start has taken longer than the larger of the two limits: one that hangs is
 * bounded too),
 * and be analysed for up to its time limit,
 * counted from when the worker starts it: one still being analysed then is
 * refused and its worker ended (a new one is started for the next text), a
 * refusal as the parser's own (INPUT_UNPARSEABLE): nothing was judged,
 * nothing runs. Texts without a principal (an approved request judged again
 * before it runs) are one more principal, not bounded in number.
 */
import { Worker } from 'node:worker_threads';
import { CountersignError, type ErrorCode } from '../../../core/errors.ts';

/** Texts longer than this many characters are analysed on the worker. */
export const OFFLOAD_MIN_CHARS = 16_384;
/** How long a long text may take to be analysed, from when the worker starts it (the gateway's `server.sqlAnalysisSeconds`). */
export const LONG_SQL_TIME_LIMIT_MS = 10_000;
/** How long a long text may wait for the worker (behind other principals' texts). */
export const LONG_SQL_WAIT_LIMIT_MS = 30_000;
/** Long texts one principal may have waiting or being analysed at once. */
export const MAX_PER_OWNER = 2;
/** A worker with nothing to do is ended after this long (its parser's memory never shrinks). */
const IDLE_MS = 30_000;

/** What the worker can be asked (analysis-worker.js). */
export type OffloadJob =
  | { readonly op: 'analyse'; readonly sql: string; readonly readOnlyFunctions: readonly string[] }
  | { readonly op: 'contains'; readonly sql: string; readonly node: string }
  | { readonly op: 'copyIn'; readonly sql: string }
  | { readonly op: 'maskSpans'; readonly sql: string; readonly secretColumns: readonly string[] };

export interface AnalysisOffload {
  /**
   * What the worker answered, or its refusal (CountersignError); rejects with another Error on the gateway's own failure.
   * `owner` (a principal's id) has at most MAX_PER_OWNER jobs here at once; more are refused with TOO_MANY_ANALYSES.
   */
  run(job: OffloadJob, owner?: string): Promise<unknown>;
  /**
   * Sets the time limit (and, unless one was given, the wait limit: 3 times it) for the texts sent from now on:
   * the gateway's `server.sqlAnalysisSeconds`, set at its start.
   */
  setTimeLimit(ms: number): void;
  /** Ends the worker; jobs still waiting are refused. */
  close(): Promise<void>;
}

interface Pending {
  readonly id: number;
  readonly job: OffloadJob;
  readonly owner: string | undefined;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type Answer = { ready: true } | { id: number; value?: unknown; error?: { code?: ErrorCode; message: string } };

// The worker and the three modules it imports sit beside this module: in src/, in dist/, and in the CLI
// bundle, dist/bundle/, where bin/build.js makes each an entry point (their names must stay as they are there).
const here = import.meta.url;
const typescript = here.endsWith('.ts');

/**
 * @example
 * const offload = createAnalysisOffload({ timeLimitMs: 10_000 });
 * const { facts } = (await offload.run({ op: 'analyse', sql, readOnlyFunctions: [] })) as Analysis;
 */
export function createAnalysisOffload(opts: { readonly timeLimitMs: number; readonly waitLimitMs?: number; readonly maxPerOwner?: number }): AnalysisOffload {
  let timeLimitMs = opts.timeLimitMs;
  let waitLimitMs = opts.waitLimitMs ?? 3 * timeLimitMs;
  const maxPerOwner = opts.maxPerOwner ?? MAX_PER_OWNER;
  const waiting: Pending[] = [];
  /** Jobs per owner, waiting or running. */
  const held = new Map<string | undefined, number>();
  /** When each owner was last served (a turn number): the least recent goes next. */
  const servedAt = new Map<string | undefined, number>();
  let turn = 0;
  let running: Pending | undefined;
  let worker: Worker | undefined;
  let ready = false;
  /** When the worker not yet ready was started. */
  let startedAt = 0;
  let idle: NodeJS.Timeout | undefined;
  let nextId = 1;

  const tooLong = () => new CountersignError('INPUT_UNPARSEABLE', `SQL could not be analysed within ${timeLimitMs / 1000} s; nothing ran`);
  const tooBusy = () =>
    new CountersignError('TOO_MANY_ANALYSES', `long SQL texts of other principals kept the analysis thread busy for ${waitLimitMs / 1000} s; nothing ran, send it again later`);
  /** Forgets a job that ended (answered, refused, timed out): its owner may send another. */
  const release = (p: Pending) => {
    const n = (held.get(p.owner) ?? 1) - 1;
    if (n > 0) held.set(p.owner, n);
    else {
      // Nothing of its own here any more: its turn is forgotten too (the maps hold only principals with texts here).
      held.delete(p.owner);
      servedAt.delete(p.owner);
    }
  };

  const end = () => {
    const w = worker;
    worker = undefined;
    ready = false;
    void w?.terminate();
  };

  const start = () => {
    startedAt = Date.now();
    const w = new Worker(new URL('./analysis-worker.js', here), {
      workerData: {
        typescript,
        facts: new URL(`./facts.${typescript ? 'ts' : 'js'}`, here).href,
        copyIn: new URL(`./copy-in.${typescript ? 'ts' : 'js'}`, here).href,
        mask: new URL(`./mask.${typescript ? 'ts' : 'js'}`, here).href,
      },
    });
    // The gateway's own stop ends it; it never keeps the process alive.
    w.unref();
    w.on('message', (a: Answer) => {
      if (w !== worker) return;
      if ('ready' in a) {
        ready = true;
        return next();
      }
      const p = running;
      if (!p || p.id !== a.id) return;
      running = undefined;
      clearTimeout(p.timer);
      release(p);
      if (!a.error) p.resolve(a.value);
      else p.reject(a.error.code ? new CountersignError(a.error.code, a.error.message) : new Error(a.error.message));
      next();
    });
    const failed = (e: unknown) => {
      if (w !== worker) return;
      end();
      const p = running;
      running = undefined;
      if (p) {
        clearTimeout(p.timer);
        release(p);
        p.reject(new CountersignError('INPUT_UNPARSEABLE', 'SQL could not be analysed (the analysing thread stopped); nothing ran'));
      } else if (!ready) {
        // The worker could not start: every text waiting for it is refused (fail closed), the next one tries again.
        for (const q of waiting.splice(0)) {
          clearTimeout(q.timer);
          release(q);
          q.reject(new Error(`the SQL analysis thread could not start: ${e instanceof Error ? e.message : String(e)}`));
        }
      }
      next();
    };
    w.on('error', failed);
    w.on('exit', failed);
    worker = w;
  };

  const next = () => {
    if (running) return;
    if (waiting.length === 0) {
      if (worker && !idle) idle = setTimeout(() => ((idle = undefined), running || waiting.length ? undefined : end()), IDLE_MS).unref();
      return;
    }
    if (idle) idle = (clearTimeout(idle), undefined);
    if (!worker) start();
    if (!ready) return;
    // Principals in turn: the waiting job whose owner was served least recently (first come among its own).
    let at = 0;
    for (let i = 1; i < waiting.length; i++) {
      if ((servedAt.get(waiting[i]!.owner) ?? -1) < (servedAt.get(waiting[at]!.owner) ?? -1)) at = i;
    }
    const p = waiting.splice(at, 1)[0]!;
    servedAt.set(p.owner, turn++);
    running = p;
    // Its time limit runs from now: what it waited is bounded apart.
    clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      if (running !== p) return;
      // Still being analysed: its worker is ended, a new one takes the next text.
      running = undefined;
      end();
      release(p);
      p.reject(tooLong());
      next();
    }, timeLimitMs);
    worker!.postMessage({ id: p.id, ...p.job });
  };

  return {
    setTimeLimit(ms) {
      timeLimitMs = ms;
      waitLimitMs = opts.waitLimitMs ?? 3 * ms;
    },
    run(job, owner) {
      return new Promise((resolve, reject) => {
        const count = held.get(owner) ?? 0;
        if (owner !== undefined && count >= maxPerOwner) {
          reject(new CountersignError('TOO_MANY_ANALYSES', `${owner.slice(0, 80)} already has ${maxPerOwner} long SQL texts being analysed; nothing ran, send it again once one is answered`));
          return;
        }
        held.set(owner, count + 1);
        const p: Pending = { id: nextId++, job, owner, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
        const waited = () => {
          if (running === p) return;
          // A worker being started is nobody's text: the limit counts from its start again.
          const starting = worker && !ready ? Math.max(waitLimitMs, timeLimitMs) - (Date.now() - startedAt) : 0;
          if (starting > 0) return void (p.timer = setTimeout(waited, starting));
          waiting.splice(waiting.indexOf(p), 1);
          release(p);
          reject(tooBusy());
          next();
        };
        p.timer = setTimeout(waited, waitLimitMs);
        waiting.push(p);
        next();
      });
    },
    async close() {
      for (const q of waiting.splice(0)) {
        clearTimeout(q.timer);
        release(q);
        q.reject(new CountersignError('INPUT_UNPARSEABLE', 'the gateway is stopping; nothing ran'));
      }
      if (running) {
        clearTimeout(running.timer);
        release(running);
        running.reject(new CountersignError('INPUT_UNPARSEABLE', 'the gateway is stopping; nothing ran'));
        running = undefined;
      }
      if (idle) idle = (clearTimeout(idle), undefined);
      const w = worker;
      worker = undefined;
      ready = false;
      await w?.terminate();
    },
  };
}

/** The gateway's one offload (a worker started on the first long text). */
export const sqlOffload: AnalysisOffload = createAnalysisOffload({ timeLimitMs: LONG_SQL_TIME_LIMIT_MS });
