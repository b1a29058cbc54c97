/**
 * The CLI commands that read or write the store open the one the config
 * names, through the composition root: given a PostgreSQL store they never
 * fall back to a SQLite file, and whatever goes wrong, the database's password
 * in the URL is never printed.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../support/audit-gateway.ts';

const SECRET = 'hunter2-do-not-print';
const dir = mkdtempSync(join(tmpdir(), 'cs-cli-pg-'));
// Port 1 on loopback: nothing listens, so no command can get past opening the store.
writeFileSync(join(dir, 'countersign.yaml'), `store: { postgres: { url: "postgres://countersign:${SECRET}@127.0.0.1:1/countersign", connectTimeout: 2 } }\naudit: { keyDir: ./keys }\n`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('audit verify|export|search, evidence report and store adopt fail without the password, and make no SQLite file', async () => {
  const commands = [
    ['audit', 'verify', '--config', 'countersign.yaml'],
    ['audit', 'export', '--config', 'countersign.yaml'],
    ['audit', 'search', '--config', 'countersign.yaml', '--type', 'request.approved'],
    ['evidence', 'report', '--config', 'countersign.yaml', '--from', '2026-01-01', '--to', '2026-02-01', '--framework', 'soc2', '--out', 'r.html'],
    ['store', 'adopt', '--config', 'countersign.yaml'],
  ];
  const runs = await Promise.all(commands.map((args) => runCli(args, dir)));
  for (const [i, r] of runs.entries()) {
    const said = `${r.stdout}${r.stderr}`;
    expect(r.code, `${commands[i]!.join(' ')}: ${said}`).not.toBe(0);
    expect(said).not.toContain(SECRET);
    expect(said).not.toMatch(/store\.sqlite|countersign\.db/);
  }
  expect(existsSync(join(dir, '.countersign'))).toBe(false);
  expect(readdirSync(dir).filter((f) => /\.db/.test(f))).toEqual([]);
  expect(existsSync(join(dir, 'r.html'))).toBe(false);
}, 120_000);
