#!/usr/bin/env node
// `npm test`: the type check (tsc --noEmit, about 40 s of one core) runs beside vitest instead of before it. The suite
// leaves a third of the machine's two cores idle on average (its end-to-end tests wait on gateways, PostgreSQL, the
// CLI and Chromium), so the type check costs it little wall time run alongside. Arguments go to vitest
// (`npm test -- test/e2e/http-flow.test.ts`). Fails when either fails. The type check runs at a lower priority
// (nice 10): it has minutes to finish beside the suite, so it takes the cores when the tests leave them idle and
// yields them when the tests' own processes want them.
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';

// npm puts node_modules/.bin on the PATH of the scripts it runs.
const run = (bin, args, priority = 0) =>
  new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: 'inherit' });
    if (priority && child.pid !== undefined) {
      try {
        setPriority(child.pid, priority);
      } catch {
        /* not permitted here: it runs at the normal priority */
      }
    }
    child.on('error', (e) => (process.stderr.write(`${e.message}\n`), resolve(1)));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const [types, tests] = await Promise.all([
  run('tsc', ['--noEmit'], 10).then((code) => {
    process.stderr.write(code === 0 ? 'tsc --noEmit: no type errors\n' : `tsc --noEmit failed (exit ${code})\n`);
    return code;
  }),
  run('vitest', ['run', ...process.argv.slice(2)]),
]);
if (types !== 0) process.stderr.write('npm test: the type check failed (its errors are above)\n');
process.exit(types !== 0 ? types : tests);
