/**
 * `countersign start` fails closed on an error nothing caught: it logs the
 * error with its stack, closes what it can (a last signed checkpoint lands in
 * the store) and exits non-zero instead of serving on in an unknown state.
 * The fault is injected from outside the gateway's code: a preloaded module
 * throws from a callback (or rejects a promise nobody handles) on SIGUSR2.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';
import { readDb } from '../support/sqlite.ts';

const BIN = resolve('bin/countersign.js');
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const FAULT = `process.on('SIGUSR2', () => {
  if (process.env.FAULT === 'rejection') Promise.reject(new Error('injected rejection'));
  else setImmediate(() => { throw new Error('injected exception'); });
});
`;

async function crash(kind: 'exception' | 'rejection') {
  const dir = mkdtempSync(join(tmpdir(), 'cs-crash-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'fault.mjs'), FAULT);
  writeFileSync(join(dir, 'countersign.yaml'), 'server: { port: 0 }\nstore: { sqlite: { path: ./state.db } }\naudit: { keyDir: ./keys }\n');
  const p = spawn(process.execPath, ['--import', join(dir, 'fault.mjs'), BIN, 'start', '--config', 'countersign.yaml'], { cwd: dir, env: { ...process.env, PORT: '0', FAULT: kind } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d));
  p.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<number | null>((done) => p.on('exit', (code) => done(code)));
  await eventually(async () => (stderr.includes('Countersign is running at') ? true : undefined), 30_000);
  p.kill('SIGUSR2');
  const code = await exited;
  const fatal = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; err?: { message: string; stack: string } })
    .find((l) => l.level === 60);
  const checkpoints = readDb(join(dir, 'state.db'), (db) => db.prepare('SELECT size FROM checkpoints').pluck().all() as number[]);
  return { code, fatal, checkpoints, stderr };
}

describe('countersign start, on an error nothing caught', () => {
  it('an exception thrown from a callback: logs it with its stack, closes (signing a last checkpoint) and exits 70', async () => {
    const r = await crash('exception');
    expect(r.code, r.stderr).toBe(70);
    expect(r.fatal?.err?.message).toBe('injected exception');
    expect(r.fatal?.err?.stack).toMatch(/^Error: injected exception\n\s+at /);
    expect(r.checkpoints.length).toBeGreaterThan(0);
  }, 60_000);

  it('a promise rejected with no handler: the same', async () => {
    const r = await crash('rejection');
    expect(r.code, r.stderr).toBe(70);
    expect(r.fatal?.err?.message).toBe('injected rejection');
    expect(r.fatal?.err?.stack).toMatch(/^Error: injected rejection\n\s+at /);
    expect(r.checkpoints.length).toBeGreaterThan(0);
  }, 60_000);
});
