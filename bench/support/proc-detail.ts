/**
 * Where a process's CPU went, beyond the total of cpu.ts: user and system
 * time, and how often its main thread gave up the CPU (waiting for I/O) or
 * had it taken away (preempted), from /proc. Per action, these tell work
 * done from wake-ups paid for: a process woken once per request pays the
 * kernel's switch each time, whatever its JavaScript does.
 */
import { readFileSync } from 'node:fs';

/** /proc reports times in USER_HZ, which Linux fixes at 100 for userspace. */
const TICKS_PER_SECOND = 100;

interface Reading {
  readonly user: number;
  readonly system: number;
  readonly voluntary: number;
  readonly involuntary: number;
}

function read(pid: number): Reading {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { user: Number(rest[11]), system: Number(rest[12]), voluntary: field('voluntary_ctxt_switches'), involuntary: field('nonvoluntary_ctxt_switches') };
  } catch {
    return { user: 0, system: 0, voluntary: 0, involuntary: 0 };
  }
}

/** Machine-wide steal time (the hypervisor ran something else on our vCPUs), in ticks. */
function steal(): number {
  const v = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return v[7] ?? 0;
}

/**
 * @example
 * const w = procDetail([123, 456]); ...; w.end(2000); // "user 210 us, system 90 us, ... per action"
 */
export function procDetail(pids: readonly number[]): { end(actions: number): string } {
  const r0 = pids.map(read);
  const s0 = steal();
  const started = performance.now();
  return {
    end(actions) {
      const seconds = (performance.now() - started) / 1000;
      const d = pids.map((pid, i) => {
        const a = r0[i]!;
        const b = read(pid);
        return { user: b.user - a.user, system: b.system - a.system, voluntary: b.voluntary - a.voluntary, involuntary: b.involuntary - a.involuntary };
      });
      const sum = (k: keyof Reading) => d.reduce((s, x) => s + x[k], 0);
      const per = (n: number) => n / Math.max(1, actions);
      const us = (ticks: number) => `${Math.round((per(ticks) / TICKS_PER_SECOND) * 1e6)} us`;
      return `user ${us(sum('user'))}, system ${us(sum('system'))}, main-thread switches ${per(sum('voluntary')).toFixed(2)} voluntary and ${per(sum('involuntary')).toFixed(2)} preempted per action; steal ${((steal() - s0) / TICKS_PER_SECOND / seconds).toFixed(2)} cores`;
    },
  };
}
