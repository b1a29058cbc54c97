import { describe, expect, it } from 'vitest';
import { lazyModule } from './lazy-module.ts';

describe('lazyModule', () => {
  it('loads once for every caller, concurrent or later', async () => {
    let loads = 0;
    const lib = lazyModule(async () => ({ n: ++loads }));
    const [a, b] = await Promise.all([lib(), lib()]);
    const c = await lib();
    expect(loads).toBe(1);
    expect(a).toBe(b);
    expect(c).toBe(a);
  });

  it('forgets a failed load: every caller of that load sees the failure, the next call loads again', async () => {
    let loads = 0;
    const lib = lazyModule(async () => {
      loads++;
      if (loads === 1) throw new Error('module not found');
      return { ok: true };
    });
    const first = await Promise.allSettled([lib(), lib()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(loads).toBe(1);
    await expect(lib()).resolves.toEqual({ ok: true });
    await expect(lib()).resolves.toEqual({ ok: true });
    expect(loads).toBe(2);
  });
});
