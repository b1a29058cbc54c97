import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runGroup } from './run-group.ts';

/** Whether a process of this id still runs. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const dirs: string[] = [];
const strays: number[] = [];

afterEach(() => {
  for (const pid of strays.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function pidFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cs-group-'));
  dirs.push(dir);
  return join(dir, 'pid');
}

/** The id the script wrote to `file`, once it has; remembered so the test ends it whatever the run does. */
async function strayIn(file: string): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const pid = Number(readFileSync(file, { encoding: 'utf8', flag: 'a+' }).trim() || NaN);
    if (Number.isSafeInteger(pid)) {
      strays.push(pid);
      return pid;
    }
    await new Promise((done) => setTimeout(done, 20));
  }
  throw new Error(`no pid in ${file}`);
}

const opts = { env: { PATH: '/usr/local/bin:/usr/bin:/bin' }, timeoutMs: 500, maxOutputBytes: 1 << 20 };

describe('a run of a process group', () => {
  it('leaves nothing of its group running when the command exits in time, even a background child that let go of the output', async () => {
    const file = pidFile();
    const run = runGroup('/bin/sh', ['-c', `sleep 300 >/dev/null 2>&1 & echo $! > ${file}`], { ...opts, timeoutMs: 20_000 });
    const pid = await strayIn(file);
    expect(await run).toMatchObject({ exitCode: 0, timedOut: false });
    for (let i = 0; alive(pid) && i < 500; i++) await new Promise((done) => setTimeout(done, 20));
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it('leaves nothing of its session running either: a background job a shell put in a process group of its own (set -m)', async () => {
    const file = pidFile();
    const run = runGroup('/bin/bash', ['-c', `set -m; sleep 300 >/dev/null 2>&1 & echo $! > ${file}`], { ...opts, timeoutMs: 20_000 });
    const pid = await strayIn(file);
    expect(await run).toMatchObject({ exitCode: 0, timedOut: false });
    for (let i = 0; alive(pid) && i < 500; i++) await new Promise((done) => setTimeout(done, 20));
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it('kills, at its bound, a descendant that moved to a process group of its own but stayed in the session', async () => {
    const file = pidFile();
    const run = runGroup('/bin/bash', ['-c', `set -m; sleep 300 & echo $! > ${file}; wait`], opts);
    const pid = await strayIn(file);
    expect(await run).toMatchObject({ timedOut: true });
    for (let i = 0; alive(pid) && i < 500; i++) await new Promise((done) => setTimeout(done, 20));
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it('ends at its bound even when a descendant that left the group (setsid) holds the output open', async () => {
    const file = pidFile();
    const run = runGroup('/bin/sh', ['-c', `setsid sleep 300 & echo $! > ${file}; echo started`], opts);
    await strayIn(file);
    expect(await run).toMatchObject({ timedOut: true, stdout: 'started\n' });
  }, 30_000);

  it('ends at its output limit even when what floods it left the group', async () => {
    const file = pidFile();
    const run = runGroup('/bin/sh', ['-c', `setsid yes & echo $! > ${file}; wait`], { ...opts, timeoutMs: 60_000, maxOutputBytes: 4096 });
    await strayIn(file);
    const r = await run;
    expect(r).toMatchObject({ failure: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' });
    expect(r.stdout).toHaveLength(4096);
  }, 30_000);

  it('kills its whole group when its signal aborts (the gateway closing), and starts nothing once aborted', async () => {
    const file = pidFile();
    const closing = new AbortController();
    const run = runGroup('/bin/sh', ['-c', `sleep 300 & echo $! > ${file}; wait`], { ...opts, timeoutMs: 60_000, signal: closing.signal });
    const pid = await strayIn(file);
    closing.abort();
    expect(await run).toMatchObject({ stopped: true, timedOut: false });
    for (let i = 0; alive(pid) && i < 500; i++) await new Promise((done) => setTimeout(done, 20));
    expect(alive(pid)).toBe(false);
    const later = pidFile();
    expect(await runGroup('/bin/sh', ['-c', `echo $$ > ${later}`], { ...opts, signal: closing.signal })).toMatchObject({ stopped: true, exitCode: null });
    expect(readFileSync(later, { encoding: 'utf8', flag: 'a+' })).toBe('');
  }, 30_000);
});
