/**
 * `server.heap` applied to the processes that serve. A cluster worker is
 * started with the settings as node flags (`heapFlags`, the primary's
 * `execArgv`). The one process of `workers: 1` is already running when it
 * reads its config, and V8 fixes a heap's limits when the process starts
 * (`v8.setFlagsFromString('--max-semi-space-size=…')` then changes nothing),
 * so `applyHeapSettings` sets what V8 reads as it goes instead: the old
 * generation's growth percent, read at every full collection, and the young
 * generation's growth factor, steered after each collection so that the
 * young generation grows to the configured size and no further.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { HeapSettings } from '../config/heap-schema.ts';

const MB = 1024 * 1024;

/** The node flags that start a process with `heap` (a cluster worker's `execArgv`). */
export function heapFlags(heap: HeapSettings): string[] {
  return [`--max-semi-space-size=${heap.maxSemiSpaceMb}`, ...(heap.oldSpaceGrowthPercent > 0 ? [`--heap-growing-percent=${heap.oldSpaceGrowthPercent}`] : [])];
}

/** The young generation's size now: both of its semi-spaces. */
export function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

type NewSpaceStats = Pick<v8.HeapSpaceInfo, 'space_size' | 'space_used_size' | 'space_available_size'>;

/**
 * The growth factor that takes the young generation's semi-space to `maxSemiSpaceMb`, from V8's statistics of its
 * new space. Read from one semi-space's capacity (used + available), not from the young generation's size: before
 * the first scavenge, and after V8 shrank the young generation, only one semi-space is committed and the size reads
 * half, which doubled the factor and let V8 grow the semi-spaces to twice the setting (2 × 16 MB for 8).
 *
 * @example
 * growthFactorFor({ space_size: MB, space_used_size: 0, space_available_size: 0.98 * MB }, 8); // 8, not 16
 */
export function growthFactorFor(newSpace: NewSpaceStats, maxSemiSpaceMb: number): number {
  return semiSpaceGrowthFactor(newSpace.space_used_size + newSpace.space_available_size, maxSemiSpaceMb * MB);
}

/**
 * V8 grows a semi-space to `factor` × its size, at most to its maximum; a factor of 1 stops it. The largest factor
 * that does not pass `targetBytes` (in the same terms as the size: one semi-space, growthFactorFor), or 1 once there.
 */
export function semiSpaceGrowthFactor(youngBytes: number, targetBytes: number): number {
  return youngBytes <= 0 ? 2 : Math.max(1, Math.floor(targetBytes / youngBytes));
}

/**
 * Applies `heap` to this process, from now on; nothing when it was started with `heapFlags(heap)` (a worker).
 * Call it before the heap grows: the young generation is not shrunk to the size if it is larger already, and
 * `outgrownBytes` then says how large it is (0 when it is within the setting).
 *
 * @example
 * const heap = applyHeapSettings(config.server.heap);
 * if (heap.outgrownBytes) logger.warn(...);
 * // ...serve...
 * heap.stop();
 */
export function applyHeapSettings(heap: HeapSettings): { stop(): void; outgrownBytes: number } {
  if (heapFlags(heap).every((f) => process.execArgv.includes(f))) return { stop() {}, outgrownBytes: 0 };
  if (heap.oldSpaceGrowthPercent > 0) v8.setFlagsFromString(`--heap-growing-percent=${heap.oldSpaceGrowthPercent}`);
  const target = heap.maxSemiSpaceMb * 2 * MB;
  const young = youngGenerationBytes();
  let factor = 0;
  const steer = () => {
    const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const next = newSpace ? growthFactorFor(newSpace, heap.maxSemiSpaceMb) : 1;
    if (next === factor) return;
    factor = next;
    v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  };
  steer();
  // After every collection: V8 grows the young generation only in a scavenge that finds it too small.
  const observer = new PerformanceObserver(steer);
  observer.observe({ entryTypes: ['gc'] });
  return { stop: () => observer.disconnect(), outgrownBytes: young > target ? young : 0 };
}
