/**
 * Workers of `server.workers` start together: several processes opening one
 * new SQLite file at the same moment must all succeed, each migration step
 * applied exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { readDb } from '../../../../test/support/sqlite.ts';
import { MIGRATIONS } from './schema.ts';

const RUN_TS = resolve('bin/run-ts.js');
const OPEN = resolve('test/support/open-sqlite-store.ts');
const dir = mkdtempSync(join(tmpdir(), 'cs-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('lets four processes starting on one new file all open it, each step applied once', async () => {
  const path = join(dir, 'countersign.db');
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, [RUN_TS, OPEN, path], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const outcomes = children.map((child) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    return new Promise<{ code: number | null; lines: string[]; stderr: string }>((r) => child.once('exit', (code) => r({ code, lines, stderr })));
  });
  // Everyone loaded, then all go at once.
  await Promise.all(children.map((c) => new Promise<void>((r) => createInterface({ input: c.stdout }).once('line', () => r()))));
  for (const c of children) c.stdin.end('go\n');
  for (const o of await Promise.all(outcomes)) {
    expect(o.code, o.stderr).toBe(0);
    expect(o.lines).toContain('opened');
  }
  const versions = readDb(path, (db) => db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[]);
  expect(versions).toEqual(MIGRATIONS.map((_, i) => i + 1));
}, 120_000);
