/**
 * `server.heap` takes effect in a process that is already running (the one
 * process of `workers: 1`): each case runs a fresh node process that
 * allocates the same way with and without `applyHeapSettings`, and reads what
 * V8 did. (Node flags on a worker's command line are V8's own business; what
 * the primary passes is checked in test/e2e/workers.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { growthFactorFor, heapFlags, semiSpaceGrowthFactor } from './heap.ts';

const HEAP_TS = new URL('./heap.ts', import.meta.url).href;
const MB = 1024 * 1024;

/** Runs `body` (an ES module's code, with `heap` imported from heap.ts) in a fresh node; its one JSON line back. */
function inChild(body: string, flags: string[] = []): any {
  const code = `import * as heap from ${JSON.stringify(HEAP_TS)};\n${body}`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', ...flags, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

// Objects that live a few thousand allocations: they survive scavenges, which is what makes V8 grow the young generation.
const CHURN = `
let maxYoung = 0;
const ring = new Array(60_000);
for (let round = 0; round < 120; round++) {
  for (let i = 0; i < 5_000; i++) ring[(round * 5_000 + i) % ring.length] = { round, i, list: [round, i, 'x' + i] };
  maxYoung = Math.max(maxYoung, heap.youngGenerationBytes());
  // Collections are reported to observers between turns of the event loop.
  await new Promise((r) => setImmediate(r));
}`;

describe('applyHeapSettings', () => {
  it('keeps the young generation at maxSemiSpaceMb per semi-space, where V8 alone grows it to 32 MB', () => {
    const alone = inChild(`${CHURN}\nconsole.log(JSON.stringify({ maxYoung }));`);
    const applied = inChild(`heap.applyHeapSettings({ maxSemiSpaceMb: 4, oldSpaceGrowthPercent: 0 });\n${CHURN}\nconsole.log(JSON.stringify({ maxYoung }));`);
    expect(alone.maxYoung, `young generation alone ${alone.maxYoung}, applied ${applied.maxYoung}`).toBeGreaterThan(8 * MB);
    expect(applied.maxYoung).toBeLessThanOrEqual(8 * MB);
    expect(applied.maxYoung).toBeGreaterThan(2 * MB);
  }, 120_000);

  it('collects the old generation after it grew by oldSpaceGrowthPercent, not by V8 own factor', () => {
    // 40 MB live, then objects that are promoted and die there: the number of full collections follows the growth allowed.
    const majors = (percent: number) =>
      inChild(`
import { PerformanceObserver, constants } from 'node:perf_hooks';
heap.applyHeapSettings({ maxSemiSpaceMb: 16, oldSpaceGrowthPercent: ${percent} });
let majors = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
const live = Array.from({ length: 400_000 }, (_, i) => ({ i, s: 'live' + i }));
const ring = new Array(200_000);
for (let round = 0; round < 100; round++) {
  for (let i = 0; i < 10_000; i++) ring[(round * 10_000 + i) % ring.length] = { round, i, list: [round, i] };
  await new Promise((r) => setImmediate(r));
}
console.log(JSON.stringify({ majors, live: live.length }));`).majors as number;
    const tight = majors(10);
    const loose = majors(300);
    expect(tight, `${tight} full collections at 10 %, ${loose} at 300 %`).toBeGreaterThan(2 * loose);
  }, 120_000);

  it('changes nothing in a process started with the flags (a worker): V8 has them already', () => {
    const flags = heapFlags({ maxSemiSpaceMb: 4, oldSpaceGrowthPercent: 25 });
    expect(flags).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=25']);
    const r = inChild(`${CHURN}\nconst stop = heap.applyHeapSettings({ maxSemiSpaceMb: 4, oldSpaceGrowthPercent: 25 });\nconsole.log(JSON.stringify({ maxYoung, argv: process.execArgv }));`, flags);
    expect(r.argv).toEqual(expect.arrayContaining(flags));
    expect(r.maxYoung).toBeLessThanOrEqual(8 * MB);
    expect(heapFlags({ maxSemiSpaceMb: 8, oldSpaceGrowthPercent: 0 })).toEqual(['--max-semi-space-size=8']);
  }, 60_000);

  it('says when the young generation had outgrown the setting already, which it cannot then hold', () => {
    // A process run through the TypeScript loader starts with 4 MB.
    const r = inChild(`const small = heap.applyHeapSettings({ maxSemiSpaceMb: 1, oldSpaceGrowthPercent: 0 }).outgrownBytes;\nconst large = heap.applyHeapSettings({ maxSemiSpaceMb: 16, oldSpaceGrowthPercent: 0 }).outgrownBytes;\nconsole.log(JSON.stringify({ small, large, young: heap.youngGenerationBytes() }));`);
    expect(r.young).toBeGreaterThan(2 * MB);
    expect(r.small).toBe(r.young);
    expect(r.large).toBe(0);
  }, 60_000);

  it('has V8 ignore a semi-space maximum set once the process runs: why the growth factor is steered instead', () => {
    const r = inChild(`import v8 from 'node:v8';\nv8.setFlagsFromString('--max-semi-space-size=2');\n${CHURN}\nconsole.log(JSON.stringify({ maxYoung }));`);
    expect(r.maxYoung).toBeGreaterThan(4 * MB);
  }, 60_000);
});

describe('semiSpaceGrowthFactor', () => {
  it('grows to the target and stops there', () => {
    expect(semiSpaceGrowthFactor(2 * MB, 16 * MB)).toBe(8);
    expect(semiSpaceGrowthFactor(6 * MB, 16 * MB)).toBe(2);
    expect(semiSpaceGrowthFactor(16 * MB, 16 * MB)).toBe(1);
    expect(semiSpaceGrowthFactor(32 * MB, 16 * MB)).toBe(1);
    expect(semiSpaceGrowthFactor(0, 16 * MB)).toBe(2);
    // This test's own process is untouched: the settings only ever ran in the children.
    expect(v8.getHeapStatistics().heap_size_limit).toBeGreaterThan(0);
  });
});

describe('growthFactorFor', () => {
  it('reads one semi-space, also when only one is committed (before the first scavenge, after a shrink)', () => {
    // As V8 11.3 (Node 20) reports a 1 MB semi-space: 2 MB of young generation once both are committed, 1 MB before.
    const semi = { space_used_size: 0.1 * MB, space_available_size: 0.88 * MB };
    expect(growthFactorFor({ space_size: 1 * MB, ...semi }, 8)).toBe(8);
    expect(growthFactorFor({ space_size: 2 * MB, ...semi }, 8)).toBe(8);
    expect(growthFactorFor({ space_size: 16 * MB, space_used_size: 5 * MB, space_available_size: 2.86 * MB }, 8)).toBe(1);
    expect(growthFactorFor({ space_size: 8 * MB, space_used_size: 1 * MB, space_available_size: 2.93 * MB }, 8)).toBe(2);
  });
});
