/**
 * Worker processes that die while recording the newest checkpoint. With a
 * lock file taken over once old, two processes that both found it left could
 * each take it over: one removed the lock the other had just taken, both then
 * read, compared and replaced at once, and the record moved back. Here the
 * test plays the process that died (whenever the lock file is free it leaves
 * one made long ago, as a crash would) while six processes record, and then
 * kills a recording process outright. The record never moves back, ends at
 * the largest any signed, and no process fails or waits on the dead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCheckpointSigner, lastSignedIn } from './checkpoint-signer.ts';

const ORIGIN = 'countersign.example/audit';
const WRITERS = 5;
const ROUNDS = 40;
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A process that records sizes first, first + step, … up to last (non-zero exit when a record threw). */
function recorder(dir: string, first: number, step: number, last: number): ChildProcess {
  const script = `
    const { createCheckpointSigner } = await import(${JSON.stringify(new URL('./checkpoint-signer.ts', import.meta.url).href)});
    const signer = createCheckpointSigner(${JSON.stringify(dir)}, ${JSON.stringify(ORIGIN)});
    for (let size = ${first}; size <= ${last}; size += ${step}) signer.recordSigned({ size, root: size.toString(16).padStart(64, '0') });
  `;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const exited = (p: ChildProcess): Promise<number | null> => new Promise((resolve) => p.on('exit', (code) => resolve(code)));
const rootOf = (size: number) => size.toString(16).padStart(64, '0');

/** Leaves the lock as a process that died holding it a minute ago would; false when it is held now. */
function leaveStaleLock(dir: string): boolean {
  const lock = join(dir, 'last-checkpoint.json.lock');
  try {
    closeSync(openSync(lock, 'wx', 0o600));
  } catch {
    return false;
  }
  const long = new Date(Date.now() - 60_000);
  utimesSync(lock, long, long);
  return true;
}

describe('the newest checkpoint recorded while processes that held its lock die', () => {
  it('never moves back, ends at the largest signed, and no recording process fails', { timeout: 120_000 }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'cs-last-stale-'));
    dirs.push(base);
    const dir = join(base, 'keys');
    createCheckpointSigner(dir, ORIGIN);
    let done = 0;
    const all = Promise.all(Array.from({ length: WRITERS }, (_, i) => exited(recorder(dir, i + 1, WRITERS, WRITERS * ROUNDS)))).finally(() => (done = 1));
    const seen: number[] = [];
    let left = 0;
    while (!done) {
      if (leaveStaleLock(dir)) left++;
      const last = lastSignedIn(dir);
      if (last && last.size !== seen.at(-1)) seen.push(last.size);
      await new Promise((r) => setImmediate(r));
    }
    expect(await all).toEqual(Array(WRITERS).fill(0));
    expect(left).toBeGreaterThan(0); // the first, at least: what a crash left before any process recorded
    expect(seen.filter((s, i) => i > 0 && s < seen[i - 1]!)).toEqual([]);
    expect(lastSignedIn(dir)?.size).toBe(WRITERS * ROUNDS);
  });

  it('is not held up by a process killed while it records', { timeout: 120_000 }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'cs-last-killed-'));
    dirs.push(base);
    const dir = join(base, 'keys');
    const signer = createCheckpointSigner(dir, ORIGIN);
    // Records without end, almost always inside the lock; killed once it has recorded a while.
    const doomed = recorder(dir, 1, 1, Number.MAX_SAFE_INTEGER);
    while ((lastSignedIn(dir)?.size ?? 0) < 50) await new Promise((r) => setTimeout(r, 5));
    doomed.kill('SIGKILL');
    await exited(doomed);
    const next = (lastSignedIn(dir)?.size ?? 0) + 1;
    signer.recordSigned({ size: next, root: rootOf(next) });
    expect(lastSignedIn(dir)).toEqual({ size: next, root: rootOf(next) });
  });
});
