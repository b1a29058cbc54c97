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
 * loaded machine that took seconds, whatever the two limits, and it is
 * nobody's text: a text whose limit runs out while a worker starts waits on,
 * and its limit counts again from when the worker is ready; a start that
 * hangs is bounded by a limit of its own, START_LIMIT_MS, past which that
 * worker is ended and the texts waiting for it refused as a start that
 * failed),
 * and be analysed for up to its time limit,
 * counted from when the worker starts it (it says so: copying a long text to
 * it, and on a loaded machine the wait for that thread to run, took over a
 * second, and is not the text's analysis): one still being analysed then is
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
/**
 * How long a new worker may take to start (load its parser), or to take up a text sent to it, before it is ended as hung.
 * Not the texts' limits: a start costs the same whatever they are, and on a loaded machine took 3-5 s, longer than a 1 s
 * time limit's 3 s wait limit.
 */
const START_LIMIT_MS = 60_000;
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
  /** Its wait limit ran out while a worker was starting: it counts again from when the worker is ready. */
  paused: boolean;
  /** Refuses it as waited too long (or pauses it while a worker starts). */
  readonly waited: () => void;
}

type Answer = { ready: true } | { started: number } | { id: number; value?: unknown; error?: { code?: ErrorCode; message: string } };

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
        clearTimeout(hung);
        // The texts whose wait limit ran out during the start: a full limit from now, behind others' texts only.
        for (const q of waiting) if (q.paused) (q.paused = false), (q.timer = setTimeout(q.waited, waitLimitMs));
        return next();
      }
      const p = running;
      if ('started' in a) {
        // Its time limit runs from now: what it waited (and its copy to the worker) is bounded apart.
        if (p?.id === a.started) (clearTimeout(p.timer), (p.timer = setTimeout(() => cut(p, tooLong()), timeLimitMs)));
        return;
      }
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
      clearTimeout(hung);
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
    // A start that hangs: the worker is ended and the texts waiting for it refused, the next text starts another.
    const hung = setTimeout(() => (ready ? undefined : failed(new Error(`it did not start within ${START_LIMIT_MS / 1000} s`))), START_LIMIT_MS).unref();
  };

  /** Ends the worker still on `p` (a new one takes the next text) and refuses it. */
  const cut = (p: Pending, error: Error) => {
    if (running !== p) return;
    running = undefined;
    end();
    release(p);
    p.reject(error);
    next();
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
    // Its time limit runs once the worker says it started it ('started' above); a worker that never does is hung.
    clearTimeout(p.timer);
    p.timer = setTimeout(() => cut(p, new CountersignError('INPUT_UNPARSEABLE', `SQL could not be analysed (the analysing thread did not take it up within ${START_LIMIT_MS / 1000} s); nothing ran`)), START_LIMIT_MS);
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
        const waited = () => {
          if (running === p) return;
          // A worker being started is nobody's text: the text waits on, its limit counted again once it is ready.
          if (worker && !ready) return void (p.paused = true);
          waiting.splice(waiting.indexOf(p), 1);
          release(p);
          reject(tooBusy());
          next();
        };
        const p: Pending = { id: nextId++, job, owner, resolve, reject, timer: setTimeout(waited, waitLimitMs), paused: false, waited };
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
