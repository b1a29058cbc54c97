/**
 * Resident memory of another process, from /proc/<pid>/status (Linux):
 * VmRSS sampled on an interval, and VmHWM (the kernel's own peak) on demand.
 */
import { readFileSync } from 'node:fs';

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Peak resident set size the kernel recorded for the process, in bytes. */
export function peakRss(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/**
 * @example
 * const s = sampleRss(pid, 100); ...; s.stop(); s.maxBytes;
 */
export function sampleRss(pid: number, everyMs: number): { readonly firstBytes: number; readonly maxBytes: number; readonly samples: number; stop(): void } {
  let maxBytes = 0;
  let firstBytes = 0;
  let samples = 0;
  const take = () => {
    const v = statusField(pid, 'VmRSS');
    if (v !== undefined) {
      if (samples === 0) firstBytes = v;
      samples++;
      if (v > maxBytes) maxBytes = v;
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    get firstBytes() {
      return firstBytes;
    },
    get maxBytes() {
      return maxBytes;
    },
    get samples() {
      return samples;
    },
    stop() {
      take();
      clearInterval(timer);
    },
  };
}
