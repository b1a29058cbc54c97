/**
 * The bench's side of bench/support/phase-profiler.mjs: start and stop a CPU
 * profile in every process of the gateway, wait for their files, and sum them
 * up as the top self-time entries of the phase, merged over the processes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The preload module, for `node --import`. */
export const PROFILER_MODULE = fileURLToPath(new URL('./phase-profiler.mjs', import.meta.url));

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function signal(dir: string, command: string, pids: readonly number[]): void {
  writeFileSync(join(dir, 'control'), `${command}\n`);
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
}

/** Starts profiling `phase` in every one of `pids` (a phase name is a file name: letters, digits, - and _). */
export function startProfiles(dir: string, phase: string, pids: readonly number[]): void {
  if (!/^[\w-]+$/.test(phase)) throw new Error(`profile phase name ${phase} is not a plain file name`);
  signal(dir, `start ${phase}`, pids);
}

/** Stops the profiles and resolves with their files, once every process has written its own. */
export async function stopProfiles(dir: string, phase: string, pids: readonly number[], timeoutMs = 15_000): Promise<string[]> {
  signal(dir, 'stop', pids);
  const files = pids.map((pid) => join(dir, `${phase}.${pid}.cpuprofile`));
  const until = Date.now() + timeoutMs;
  while (!files.every((f) => existsSync(f))) {
    if (Date.now() > until) throw new Error(`profiles of ${phase}: ${files.filter((f) => !existsSync(f)).join(', ')} not written within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return files;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  readonly fn: string;
  readonly where: string;
  /** Share of the phase's busy samples (all but `(idle)`), over every process. */
  readonly percent: number;
  /** Sampled self time, in ms, over every process. */
  readonly ms: number;
  /** For a native function (no file of its own): the nearest JavaScript frame that called it; each call site is its own entry. */
  readonly caller?: { readonly fn: string; readonly where: string };
}

export interface ProfileSummary {
  readonly processes: number;
  readonly busySamples: number;
  /** Share of all samples in which the process was idle (waiting for I/O). */
  readonly idleShare: number;
  readonly top: readonly ProfileEntry[];
  /** Files of a TypeScript loader (tsx) seen in any frame: a compiled build must show none. */
  readonly loaderFrames: number;
}

/** `dist/adapters/store/sqlite/requests.js:42`, `node_modules/pino/lib/tools.js:10`, `node:internal/...`. */
function location(url: string, lineNumber: number): string {
  let where = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = where.lastIndexOf('/node_modules/');
  if (nm >= 0) where = where.slice(nm + 1);
  else if (where.startsWith(ROOT)) where = where.slice(ROOT.length);
  if (!where) return '(native)';
  return lineNumber >= 0 ? `${where}:${lineNumber + 1}` : where;
}

/**
 * @example
 * const s = summariseProfiles(await stopProfiles(dir, 'sqlite-w1-allowed', pids));
 * s.top[0]; // { fn: 'writev', where: 'node:internal/...', percent: 4.2, ms: 310 }
 */
export function summariseProfiles(files: readonly string[], top = 10): ProfileSummary {
  const self = new Map<string, { fn: string; where: string; caller: string | undefined; samples: number; us: number }>();
  let idle = 0;
  let all = 0;
  let loaderFrames = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // A native function's name alone (`run`, `writev`) says little: the JavaScript frame that called it does.
    const callerOf = (id: number): string | undefined => {
      for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
        const f = byId.get(up)?.callFrame;
        if (f?.url) return `${f.functionName || '(anonymous)'}\0${location(f.url, f.lineNumber)}`;
      }
      return undefined;
    };
    loaderFrames += p.nodes.filter((n) => /\/node_modules\/(tsx|esbuild)\//.test(n.callFrame.url)).length;
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      const node = byId.get(samples[i]!);
      if (!node) continue;
      all++;
      const fn = node.callFrame.functionName || '(anonymous)';
      if (fn === '(idle)') {
        idle++;
        continue;
      }
      const where = location(node.callFrame.url, node.callFrame.lineNumber);
      // A native function is counted per JavaScript call site: `run` for the audit append and `run` for a request row are different costs.
      const caller = !node.callFrame.url && !fn.startsWith('(') ? callerOf(node.id) : undefined;
      const key = `${fn}\0${where}\0${caller ?? ''}`;
      const e = self.get(key) ?? { fn, where, caller, samples: 0, us: 0 };
      e.samples++;
      // The time since the previous sample is charged to this one.
      e.us += Math.max(0, deltas[i] ?? 0);
      self.set(key, e);
    }
  }
  const busy = all - idle;
  const entries = [...self.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, top)
    .map((e) => {
      const [fn = '', where = ''] = e.caller ? e.caller.split('\0') : [];
      return { fn: e.fn, where: e.where, percent: (e.samples / Math.max(1, busy)) * 100, ms: e.us / 1000, ...(e.caller ? { caller: { fn, where } } : {}) };
    });
  return { processes: files.length, busySamples: busy, idleShare: all ? idle / all : 0, top: entries, loaderFrames };
}
