/**
 * `server.heap`: how far V8 lets the heap of a process that serves grow past
 * what it holds live. Left to itself, V8 lets a busy process's old generation
 * grow to up to four times what survived the last full collection and its
 * young generation to 32 MB, so a gateway holding 35–40 MB live peaked at
 * 200–300 MB resident under load (BENCHMARKS.md, "Hot path", "Peak RSS").
 * Neither setting is a ceiling: a process that needs more for a large request
 * still gets it, it only collects sooner.
 */
import { z } from 'zod';

const SEMI = 'a whole number of MB from 1 to 64';
const GROWTH = 'a whole percentage from 0 to 300';

export const heapSchema = z
  .strictObject({
    /**
     * The largest semi-space of the young generation, in MB (V8's `--max-semi-space-size`; the young generation is two
     * of them). V8's own is 16.
     */
    maxSemiSpaceMb: z.number().int(SEMI).min(1, SEMI).max(64, SEMI).default(8),
    /**
     * How much the old generation may grow past what survived the last full collection before the next one, in %
     * (V8's `--heap-growing-percent`); 0 leaves it to V8, which lets a busy process grow up to 300 %.
     */
    oldSpaceGrowthPercent: z.number().int(GROWTH).min(0, GROWTH).max(300, GROWTH).default(30),
  })
  .prefault({});

export type HeapSettings = z.infer<typeof heapSchema>;
