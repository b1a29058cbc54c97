/**
 * Where the machine's CPU went during a phase (Linux /proc): the gateway,
 * the upstream, this process (autocannon) and everything else. On a small
 * shared machine the figures only mean something next to this breakdown.
 */
import { readFileSync } from 'node:fs';

/** /proc reports times in USER_HZ, which Linux fixes at 100 for userspace. */
const TICKS_PER_SECOND = 100;

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

function processTicks(pid: number | 'self'): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
  } catch {
    return 0;
  }
}

export interface CpuShare {
  /** Wall seconds the window lasted. */
  readonly seconds: number;
  /** CPU seconds used by each named process in the window. */
  readonly cpuSeconds: Readonly<Record<string, number>>;
  /** CPU seconds used by everything else on the machine. */
  readonly otherCpuSeconds: number;
  /** CPU seconds the machine was idle. */
  readonly idleCpuSeconds: number;
}

/**
 * @example
 * const w = cpuWindow({ gateway: 123, upstream: 456, autocannon: 'self' });
 * ...; const share = w.end(); share.cpuSeconds.gateway;
 */
export function cpuWindow(procs: Readonly<Record<string, number | 'self'>>): { end(): CpuShare } {
  const started = performance.now();
  const m0 = machineTicks();
  const p0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, processTicks(pid)]));
  return {
    end() {
      const m1 = machineTicks();
      const cpuSeconds: Record<string, number> = {};
      let ours = 0;
      for (const [k, pid] of Object.entries(procs)) {
        const t = processTicks(pid) - (p0[k] ?? 0);
        ours += t;
        cpuSeconds[k] = t / TICKS_PER_SECOND;
      }
      const busy = m1.busy - m0.busy;
      const total = m1.total - m0.total;
      return {
        seconds: (performance.now() - started) / 1000,
        cpuSeconds,
        otherCpuSeconds: Math.max(0, busy - ours) / TICKS_PER_SECOND,
        idleCpuSeconds: (total - busy) / TICKS_PER_SECOND,
      };
    },
  };
}

/** "gateway 0.98, upstream 0.10, autocannon 0.85, other 0.05, idle 0.02 cores". */
export function describeShare(s: CpuShare): string {
  const cores = (cpu: number) => (cpu / s.seconds).toFixed(2);
  const parts = Object.entries(s.cpuSeconds).map(([k, v]) => `${k} ${cores(v)}`);
  return `${parts.join(', ')}, other processes ${cores(s.otherCpuSeconds)}, idle ${cores(s.idleCpuSeconds)} cores`;
}

/** The CPU seconds of every process whose name starts with `prefix` (a gateway's primary and workers). */
export function cpuOf(s: CpuShare, prefix: string): number {
  return Object.entries(s.cpuSeconds)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((sum, [, v]) => sum + v, 0);
}

/** The same share with the processes named `prefix…` added up under `prefix`, for display. */
export function collapse(s: CpuShare, prefix: string): CpuShare {
  const cpuSeconds: Record<string, number> = { [prefix]: cpuOf(s, prefix) };
  for (const [k, v] of Object.entries(s.cpuSeconds)) if (!k.startsWith(prefix)) cpuSeconds[k] = v;
  return { ...s, cpuSeconds };
}
