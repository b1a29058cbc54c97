/**
 * A CPU profile per measured phase of `npm run bench:gateway`, without
 * restarting the gateway: preloaded into the compiled CLI with
 * `node --import <this file> bin/countersign.js start ...`. Cluster workers
 * inherit the flag (execArgv), so every process of the gateway has it.
 *
 * Plain JavaScript on purpose: the profile of a production build must not
 * show a TypeScript loader.
 *
 * Driven by the bench through BENCH_PROFILE_DIR: it writes `control` there
 * (`start <phase>` or `stop`) and sends SIGUSR2 to every process (SIGUSR1
 * would open the inspector's port). On `stop` each process writes
 * `<phase>.<pid>.cpuprofile`, renamed into place once complete so the bench
 * never reads half a file. Without BENCH_PROFILE_DIR this module does nothing.
 */
import { Session } from 'node:inspector';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
const intervalUs = Number(process.env.BENCH_PROFILE_INTERVAL_US || 1000);

if (dir) {
  let session;
  let phase;

  const post = (method, params = {}) =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));

  const report = (what, err) => process.stderr.write(`phase-profiler (pid ${process.pid}): ${what}: ${err?.message ?? err}\n`);

  async function start(name) {
    if (phase) return;
    phase = name;
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: intervalUs });
    await post('Profiler.start');
  }

  async function stop() {
    if (!phase) return;
    const name = phase;
    phase = undefined;
    const { profile } = await post('Profiler.stop');
    // Between profiles nothing of the inspector stays attached: the next measured run is as in production.
    await post('Profiler.disable');
    session.disconnect();
    session = undefined;
    const file = join(dir, `${name}.${process.pid}.cpuprofile`);
    writeFileSync(`${file}.tmp`, JSON.stringify(profile));
    renameSync(`${file}.tmp`, file);
  }

  process.on('SIGUSR2', () => {
    let command;
    try {
      command = readFileSync(join(dir, 'control'), 'utf8').trim();
    } catch (e) {
      report('no control file', e);
      return;
    }
    // Never let the profiler crash the gateway it measures: its errors are only reported.
    const run = command.startsWith('start ') ? start(command.slice(6)) : command === 'stop' ? stop() : Promise.reject(new Error(`unknown command ${command}`));
    run.catch((e) => report(command, e));
  });
}
