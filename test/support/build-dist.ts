/**
 * Vitest global setup: the tests that spawn `bin/countersign.js` run the compiled
 * CLI in dist/, so dist/ is rebuilt first whenever the sources changed since it was
 * built (no type check here: `npm test` type-checks on its own; a few seconds).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function buildDist(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const out = spawnSync(process.execPath, ['bin/build.js', '--no-check', '--if-stale'], { cwd: root, stdio: 'inherit' });
  if (out.status !== 0) throw new Error(`building dist/ for the tests failed (exit ${out.status ?? out.signal})`);
}
