/**
 * Bounds on one evaluation of the policy. Evaluation is synchronous on the
 * event loop, so a condition that runs long (a nested comprehension over an
 * agent's lists) stalls every other agent's actions: the values a condition
 * sees are capped before it runs (size, depth), and the run itself has a
 * budget of steps and a deadline that the evaluator checks as it goes. A
 * policy that exceeds a bound does not decide: the action is denied.
 *
 * The values are also made into what CEL's semantics need: every map becomes
 * a JavaScript Map, so a key is looked up by its type (`443 in m` does not
 * find the key "443").
 */

export interface EvaluationLimits {
  /** Evaluation steps (one per expression node evaluated, more for costly functions) for the whole policy. */
  readonly maxSteps: number;
  /** Wall-clock time for the whole policy, in milliseconds. */
  readonly timeoutMs: number;
  /** Values (scalars, list elements, map entries) in the variables together. */
  readonly maxValues: number;
  /** Nesting of lists and maps in the variables. */
  readonly maxDepth: number;
  /** Characters of all strings in the variables together (keys included). */
  readonly maxStringChars: number;
}

export const DEFAULT_EVALUATION_LIMITS: EvaluationLimits = Object.freeze({
  maxSteps: 1_000_000,
  timeoutMs: 250,
  maxValues: 100_000,
  maxDepth: 64,
  maxStringChars: 8 * 1024 * 1024,
});

/** Why a policy did not decide: its inputs or its run exceeded a bound. */
export class EvaluationBoundExceeded extends Error {
  override readonly name = 'EvaluationBoundExceeded';
}

/** CPU time this process has used, in milliseconds. */
const processCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const wallNow = (): number => performance.now();

/**
 * Counts the steps of one evaluation and watches its deadline. The evaluator
 * calls tick() for every node it evaluates; the clock is read every 32 steps
 * (reading it costs more than a step).
 *
 * The time limit is on the CPU the evaluation takes, not on the wall clock alone: a process the machine did not run
 * for a while (a loaded host, a pause for garbage collection) held no one's actions up meanwhile, and a decision
 * must not turn into a deny because of it. The limit trips when both the wall clock and the process's CPU time have
 * gone past it. The CPU clock is first read at the first check of the wall clock (32 steps in, or a costly step), not
 * at the start: most evaluations end before it, and never read it. The evaluation runs on one thread, which cannot
 * have used more CPU than the wall time since the start: that wall time is counted as the evaluation's CPU before the
 * reading, so the CPU counted is never less than the evaluation's own (the limit can trip earlier, never later). After that
 * the CPU clock is read only once the wall clock has gone past the limit.
 */
export class Meter {
  steps = 0;
  /** Set once a bound is exceeded: every later step fails too, so no error can be absorbed into a value. */
  exceeded: EvaluationBoundExceeded | null = null;
  readonly #maxSteps: number;
  readonly #start: number;
  readonly #deadline: number;
  /** NaN until the CPU clock is first read (tick). */
  #cpuDeadline = Number.NaN;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #cpuNow: () => number;

  constructor(limits: Pick<EvaluationLimits, 'maxSteps' | 'timeoutMs'>, now: () => number = wallNow, cpuNow: () => number = processCpuMs) {
    this.#maxSteps = limits.maxSteps;
    this.#now = now;
    this.#cpuNow = cpuNow;
    this.#timeoutMs = limits.timeoutMs;
    this.#start = now();
    this.#deadline = this.#start + limits.timeoutMs;
    if (!Number.isFinite(limits.timeoutMs)) this.#cpuDeadline = Number.POSITIVE_INFINITY;
  }

  /** A meter that never trips: for evaluation outside a policy decision. */
  static unbounded(): Meter {
    return new Meter({ maxSteps: Number.POSITIVE_INFINITY, timeoutMs: Number.POSITIVE_INFINITY });
  }

  tick(cost = 1): void {
    if (this.exceeded) throw this.exceeded;
    const before = this.steps;
    this.steps += cost;
    if (this.steps > this.#maxSteps) {
      this.exceeded = new EvaluationBoundExceeded(`policy evaluation exceeded its budget of ${this.#maxSteps} steps`);
      throw this.exceeded;
    }
    if (before >>> 5 === this.steps >>> 5 && cost <= 1) return;
    const wall = this.#now();
    if (Number.isNaN(this.#cpuDeadline)) {
      const cpuThen = this.#cpuNow() - (wall - this.#start);
      this.#cpuDeadline = cpuThen + this.#timeoutMs;
    }
    if (wall > this.#deadline && this.#cpuNow() > this.#cpuDeadline) {
      this.exceeded = new EvaluationBoundExceeded('policy evaluation exceeded its time limit');
      throw this.exceeded;
    }
  }
}

function tooLarge(what: string): never {
  throw new EvaluationBoundExceeded(`the action is too large for policy evaluation: ${what}`);
}

/** What conditions read below a value: ALL of it, or only the keys in the map (and what each reads below it). */
export type ReadTree = typeof ALL | ReadonlyMap<string, ReadTree>;
export const ALL = 'all' as const;

/**
 * The tree of the keys `paths` reach (paths.ts: every path a condition reads;
 * one that stops at a value reads all of that value).
 *
 * @example
 * readTree([['facts', 'http', 'method'], ['principal']]); // Map { facts => Map { http => Map { method => 'all' } }, principal => 'all' }
 */
export function readTree(paths: readonly (readonly string[])[]): ReadTree {
  const root = new Map<string, ReadTree>();
  for (const path of paths) {
    let at: Map<string, ReadTree> = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const next = at.get(key);
      if (next === ALL) break;
      if (i === path.length - 1) {
        at.set(key, ALL);
      } else {
        const below = next ?? new Map<string, ReadTree>();
        at.set(key, below);
        at = below as Map<string, ReadTree>;
      }
    }
  }
  return root;
}

/**
 * The variables as CEL sees them: plain objects become Maps (string keys),
 * arrays stay arrays, other values are kept. Throws EvaluationBoundExceeded
 * when they exceed the limits.
 *
 * With `read` (what the policy's conditions read, as a tree of keys from
 * readTree), only that is converted: a key no condition reaches is never
 * looked up, so building its Maps is wasted work (an action's facts carry
 * every kind's section; a condition reads its own). What is left out is still
 * walked and counted against the limits, in the same order, so what is
 * refused as too large stays exactly the same.
 *
 * @example
 * celValue({ input: { port: 443 } }, DEFAULT_EVALUATION_LIMITS); // Map { 'input' => Map { 'port' => 443 } }
 */
export function celValue(value: unknown, limits: EvaluationLimits, read: ReadTree = ALL): unknown {
  let values = 0;
  let chars = 0;
  const text = (s: string): void => {
    chars += s.length;
    if (chars > limits.maxStringChars) tooLarge(`more than ${limits.maxStringChars} characters of text`);
  };
  const convert = (v: unknown, depth: number, read: ReadTree): unknown => {
    if (++values > limits.maxValues) tooLarge(`more than ${limits.maxValues} values`);
    if (typeof v === 'string') {
      text(v);
      return v;
    }
    if (v === null || typeof v !== 'object' || v instanceof Date || ArrayBuffer.isView(v)) return v;
    if (depth >= limits.maxDepth) tooLarge(`nested deeper than ${limits.maxDepth} levels`);
    // A path ends at a list (an element is reached by a computed index or a macro): all of it is read.
    if (Array.isArray(v)) return v.map((x) => convert(x, depth + 1, ALL));
    if (v instanceof Map || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
      const out = new Map<unknown, unknown>();
      const entries: Iterable<[unknown, unknown]> = v instanceof Map ? v.entries() : Object.entries(v);
      for (const [k, x] of entries) {
        if (x === undefined) continue;
        if (typeof k === 'string') text(k);
        const below = read === ALL ? ALL : read.get(k as string);
        if (below === undefined) count(x, depth + 1);
        else out.set(k, convert(x, depth + 1, below));
      }
      return out;
    }
    return v;
  };
  /** What convert would check of `v`, in the same order, without building anything. */
  const count = (v: unknown, depth: number): void => {
    if (++values > limits.maxValues) tooLarge(`more than ${limits.maxValues} values`);
    if (typeof v === 'string') {
      text(v);
      return;
    }
    if (v === null || typeof v !== 'object' || v instanceof Date || ArrayBuffer.isView(v)) return;
    if (depth >= limits.maxDepth) tooLarge(`nested deeper than ${limits.maxDepth} levels`);
    if (Array.isArray(v)) {
      v.forEach((x) => count(x, depth + 1)); // as convert's map: holes skipped
      return;
    }
    if (v instanceof Map) {
      for (const [k, x] of v) {
        if (x === undefined) continue;
        if (typeof k === 'string') text(k);
        count(x, depth + 1);
      }
    } else if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const x = o[k];
        if (x === undefined || !Object.hasOwn(o, k)) continue;
        text(k);
        count(x, depth + 1);
      }
    }
  };
  return convert(value, 0, read);
}
