/**
 * Long SQL texts are parsed and walked on a worker thread (analysis-worker.js)
 * with a parser instance of its own. An action's SQL may have 1,000,000
 * characters, and 1,000,000 characters of `SELECT 1;` took seconds to parse
 * and walk: on the thread that answers, every session, REST call and other
 * agent waited meanwhile. Short texts (nearly all) stay on the calling thread,
 * where they cost what they did.
 *
 * One text at a time is analysed, in the order they came. Each has a time
 * limit, counted from when it arrives: a text still waiting for the worker
 * then is refused, and one still being analysed is refused and its worker
 * ended (a new one is started for the next text). A refusal is the parser's
 * own (INPUT_UNPARSEABLE): nothing was judged, nothing runs.
 */
import { Worker } from 'node:worker_threads';
import { CountersignError, type ErrorCode } from '../../../core/errors.ts';

/** Texts longer than this many characters are analysed on the worker. */
export const OFFLOAD_MIN_CHARS = 16_384;
/** How long a long text may take to be analysed, waiting included. */
export const LONG_SQL_TIME_LIMIT_MS = 10_000;
/** A worker with nothing to do is ended after this long (its parser's memory never shrinks). */
const IDLE_MS = 30_000;

/** What the worker can be asked (analysis-worker.js). */
export type OffloadJob =
  | { readonly op: 'analyse'; readonly sql: string; readonly readOnlyFunctions: readonly string[] }
  | { readonly op: 'contains'; readonly sql: string; readonly node: string }
  | { readonly op: 'copyIn'; readonly sql: string };

export interface AnalysisOffload {
  /** What the worker answered, or its refusal (CountersignError); rejects with another Error on the gateway's own failure. */
  run(job: OffloadJob): Promise<unknown>;
  /** Ends the worker; jobs still waiting are refused. */
  close(): Promise<void>;
}

interface Pending {
  readonly id: number;
  readonly job: OffloadJob;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type Answer = { ready: true } | { id: number; value?: unknown; error?: { code?: ErrorCode; message: string } };

const here = import.meta.url;
const typescript = here.endsWith('.ts');

/**
 * @example
 * const offload = createAnalysisOffload({ timeLimitMs: 10_000 });
 * const { facts } = (await offload.run({ op: 'analyse', sql, readOnlyFunctions: [] })) as Analysis;
 */
export function createAnalysisOffload(opts: { readonly timeLimitMs: number }): AnalysisOffload {
  const waiting: Pending[] = [];
  let running: Pending | undefined;
  let worker: Worker | undefined;
  let ready = false;
  let idle: NodeJS.Timeout | undefined;
  let nextId = 1;

  const tooLong = () =>
    new CountersignError('INPUT_UNPARSEABLE', `SQL could not be analysed within ${opts.timeLimitMs / 1000} s (long texts are analysed one at a time); nothing ran`);

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
        p.reject(new CountersignError('INPUT_UNPARSEABLE', 'SQL could not be analysed (the analysing thread stopped); nothing ran'));
      } else if (!ready) {
        // The worker could not start: every text waiting for it is refused (fail closed), the next one tries again.
        for (const q of waiting.splice(0)) {
          clearTimeout(q.timer);
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
    const p = waiting.shift()!;
    running = p;
    worker!.postMessage({ id: p.id, ...p.job });
  };

  return {
    run(job) {
      return new Promise((resolve, reject) => {
        const p: Pending = { id: nextId++, job, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
        p.timer = setTimeout(() => {
          if (running === p) {
            // Still being analysed: its worker is ended, a new one takes the next text.
            running = undefined;
            end();
          } else {
            waiting.splice(waiting.indexOf(p), 1);
          }
          reject(tooLong());
          next();
        }, opts.timeLimitMs);
        waiting.push(p);
        next();
      });
    },
    async close() {
      for (const q of waiting.splice(0)) {
        clearTimeout(q.timer);
        q.reject(new CountersignError('INPUT_UNPARSEABLE', 'the gateway is stopping; nothing ran'));
      }
      if (running) {
        clearTimeout(running.timer);
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
