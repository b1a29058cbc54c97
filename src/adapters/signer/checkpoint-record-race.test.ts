/**
 * Two worker processes (`server.workers: 2`) sign checkpoints over one audit
 * log and both record the newest beside the key. A record read, compared and
 * then replaced by one process could land after a larger one written by the
 * other meanwhile, leaving last-checkpoint.json pointing back at an older
 * checkpoint: a store put back to that older state would then verify. The
 * record only ever moves forward, whoever writes it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCheckpointSigner, lastSignedIn } from './checkpoint-signer.ts';

const ORIGIN = 'countersign.example/audit';
const ROUNDS = 400;
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A process that records sizes first, first + 2, … (the other writer takes the other parity), then exits. */
function writer(dir: string, first: number): Promise<number | null> {
  const script = `
    const { createCheckpointSigner } = await import(${JSON.stringify(new URL('./checkpoint-signer.ts', import.meta.url).href)});
    const signer = createCheckpointSigner(${JSON.stringify(dir)}, ${JSON.stringify(ORIGIN)});
    for (let size = ${first}; size <= ${2 * ROUNDS}; size += 2) signer.recordSigned({ size, root: size.toString(16).padStart(64, '0') });
  `;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => p.on('exit', (code) => resolve(code)));
}

describe('the newest checkpoint recorded by two processes at once', () => {
  it('never moves back, and ends at the largest either signed', { timeout: 120_000 }, async () => {
    const base = mkdtempSync(join(tmpdir(), 'cs-last-race-'));
    dirs.push(base);
    const dir = join(base, 'keys');
    createCheckpointSigner(dir, ORIGIN); // the key, made once before both start
    let done = 0;
    const both = Promise.all([writer(dir, 1), writer(dir, 2)]).finally(() => (done = 1));
    // What a reader sees while they write: each reading at least the one before.
    const seen: number[] = [];
    while (!done) {
      const last = lastSignedIn(dir);
      if (last && last.size !== seen.at(-1)) seen.push(last.size);
      await new Promise((r) => setImmediate(r));
    }
    expect(await both).toEqual([0, 0]);
    expect(seen.filter((s, i) => i > 0 && s < seen[i - 1]!)).toEqual([]);
    expect(lastSignedIn(dir)).toEqual({ size: 2 * ROUNDS, root: (2 * ROUNDS).toString(16).padStart(64, '0') });
    expect(readdirSync(dir).filter((f) => f.includes('last-checkpoint')).sort()).toEqual(['last-checkpoint.json', 'last-checkpoint.json.lock']);
  });
});
