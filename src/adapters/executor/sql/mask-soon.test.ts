/**
 * A long text's secret places come from the analysis thread. Run in a process of its own that never loads the
 * parser on its main thread (so a parse there would throw "the SQL parser is not loaded"), the masks still land
 * where they belong: nothing of the long text is parsed on the thread that answers everyone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = (f: string) => JSON.stringify(new URL(f, import.meta.url).href);
const SCRIPT = `
  const { sqlOffload } = await import(${here('./analysis-offload.ts')});
  const { maskSqlSecretsPrepared, prepareSecretSpans } = await import(${here('./mask-soon.ts')});
  const { maskSqlSecrets } = await import(${here('./mask.ts')});
  const COLUMNS = ['users.password'];
  const LONG = "UPDATE users SET password = 'hunter2' WHERE id = $1; INSERT INTO users (id, password) VALUES (2, $2); " + 'SELECT 1;'.repeat(3000);
  const mask = (v) => 'm(' + v.length + ')';
  let here;
  try { maskSqlSecrets(LONG, [1, 'pw'], COLUMNS, mask); here = 'parsed'; } catch (e) { here = e.message; }
  await prepareSecretSpans(LONG, COLUMNS, 'deploy-bot');
  const m = maskSqlSecretsPrepared(LONG, [1, 'pw'], COLUMNS, mask);
  await sqlOffload.close();
  process.stdout.write(JSON.stringify({ here, head: m.sql.slice(0, 60), params: m.params, masked: m.masked, cut: LONG.length - m.sql.length }));
`;

describe('masking a long SQL text for the audit log', () => {
  it('puts the masks in from places found on the analysis thread, parsing nothing on the calling one', { timeout: 120_000 }, async () => {
    // A file, not -e: the analysis thread inherits the process's flags, and --input-type is for -e alone.
    const dir = mkdtempSync(join(tmpdir(), 'cs-mask-soon-'));
    const file = join(dir, 'run.mjs');
    writeFileSync(file, SCRIPT);
    let out = '';
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(JSON.parse(out)).toEqual({
      here: expect.stringMatching(/not loaded/),
      head: "UPDATE users SET password = 'm(7)' WHERE id = $1; INSERT INT",
      params: [1, 'm(2)'],
      masked: 2,
      cut: 3,
    });
  });
});
