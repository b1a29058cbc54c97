/**
 * `countersign requests show` on a terminal of 80 columns. Every line of the
 * agent's text sits behind a gutter (`│ `), so none passes for a line of
 * ours; but a line longer than the terminal is wrapped by the terminal, and
 * the row it wraps onto starts at the left edge with no gutter: a reason
 * padded with spaces put `  facts       writes=false …` there, a row that
 * reads as the gateway's own. The CLI now breaks such lines itself, each
 * further row behind the gutter, when it writes to a terminal. Real parts:
 * the gateway, the compiled CLI under util-linux `script` (a pseudo-terminal
 * set to 80 columns). The statement is held for review and never runs.
 *
 * And `--json`, which the text output names for the whole reason and input:
 * JSON escapes C0 controls but leaves a C1 control (U+009B, an 8-bit CSI a
 * terminal may act on) and a bidi override raw; they are escaped (`\u009b`),
 * as `countersign run --json` escapes them, and the JSON parses back to the
 * same value.
 *
 * And `requests list`, whose one line per request cuts the input at 60
 * characters: a `SELECT 1;` whose DELETE was padded past the cut read as a
 * SELECT there. A cut SQL line leads with its statement kinds, as a command's
 * leads with what runs and as every other one-line form does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { HOLD_WRITES } from '../support/review-channels.ts';
import { hasScript, runCli } from '../support/run-cli.ts';

const COLUMNS = 80;
const FORGED = '  facts       writes=false  statements=select  tables=orders  readOnly=true';
// The claim's first row starts at column 16 (`              │ `): the padding ends it, and the terminal's next row starts with the forgery.
const REASON = `Nightly check.${' '.repeat(COLUMNS - 16 - 'Nightly check.'.length)}${FORGED}`;
// The SQL's own first row starts at column 14 (`  input       `); a block comment of spaces carries the same forgery.
const SQL = `DELETE FROM orders /*${' '.repeat(COLUMNS - 14 - 'DELETE FROM orders /*'.length)}${FORGED}${' '.repeat(COLUMNS - FORGED.length)}*/`;

let gw: TestGateway;
let dir: string;
let id: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-terminal-rows-'));
  gw = await startTestGateway(`connections:
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
${HOLD_WRITES}`);
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql: SQL }, reason: REASON } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  id = res.body.id as string;
});

/** A second held request, its reason and SQL holding a C1 CSI sequence and a bidi override. */
const HIDDEN_REASON = 'routine \u009b2J\u009b31mcheck \u202edrow';
const HIDDEN_SQL = "DELETE FROM orders WHERE note = '\u009d8;;https://evil.example\u009c'";
let hiddenId: string;
/** A third, a DELETE padded past the list's cut behind a SELECT. */
const PADDED_SQL = `SELECT 1; /* ${'x'.repeat(100)} */ DELETE FROM orders`;
let paddedId: string;

beforeAll(async () => {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql: HIDDEN_SQL }, reason: HIDDEN_REASON } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  hiddenId = res.body.id as string;
  const padded = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql: PADDED_SQL }, reason: 'routine' } });
  expect(padded.status, JSON.stringify(padded.body)).toBe(202);
  paddedId = padded.body.id as string;
});

afterAll(async () => {
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `countersign requests show` on a pseudo-terminal of COLUMNS columns: the rows it drew. */
async function showOnTerminal(): Promise<string[]> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `stty cols ${COLUMNS} rows 50 && exec ${[process.execPath, resolve('bin/countersign.js'), 'requests', 'show', id].map(quote).join(' ')}`;
  const env = { ...process.env, COUNTERSIGN_URL: gw.url, COUNTERSIGN_KEY: gw.keys['alice']!, COUNTERSIGN_CREDENTIALS: join(dir, 'none.json') };
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  expect(code, out).toBe(0);
  // The terminal wraps every row longer than its width: what a reviewer sees, row by row.
  return out
    .split(/\r?\n/)
    .flatMap((line) => (line.length ? (line.match(new RegExp(`.{1,${COLUMNS}}`, 'gu')) ?? []) : ['']));
}

describe.skipIf(!hasScript)('agent text longer than the terminal is wide', () => {
  it('draws no row that starts as a line of ours', async () => {
    const rows = await showOnTerminal();
    expect(rows.some((r) => r.startsWith('  input       DELETE FROM orders /*'))).toBe(true);
    expect(rows.filter((r) => r.startsWith('  facts '))).toEqual([expect.stringContaining('writes=true')]);
  });

  it('puts each further row of a long line behind the gutter', async () => {
    const rows = await showOnTerminal();
    const claim = rows.findIndex((r) => r.startsWith('  claim '));
    expect(rows[claim + 1]).toMatch(/^ {14}│ Nightly check\. +$/);
    expect(rows[claim + 2]).toMatch(/^ {14}│ +facts {7}writes=false/);
    // Each row fits, so the terminal wraps none: every row is one the CLI drew.
    expect(rows.filter((r) => [...r].length > COLUMNS)).toEqual([]);
  });

  it('breaks nothing on a pipe, where no width is known', async () => {
    const show = await runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') }).command(['requests', 'show', id]).done;
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`│ ${REASON}\n`);
  });
});

describe('requests --json', () => {
  const RAW = /[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/u;
  const cli = () => runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });

  it('show escapes C1 controls and bidi overrides, and parses back to the same request', async () => {
    const show = await cli().command(['requests', 'show', hiddenId, '--json']).done;
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).not.toMatch(RAW);
    expect(show.stdout).toContain('\\u009b2J');
    const r = JSON.parse(show.stdout);
    expect([r.action.reason, r.action.input.sql]).toEqual([HIDDEN_REASON, HIDDEN_SQL]);
  });

  it('list escapes them too', async () => {
    const list = await cli().command(['requests', 'list', '--json']).done;
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toMatch(RAW);
    expect(JSON.parse(list.stdout).find((r: { id: string }) => r.id === hiddenId).action.reason).toBe(HIDDEN_REASON);
  });
});

describe('requests list', () => {
  it('leads a cut SQL line with its statement kinds, DELETE first', async () => {
    const list = await runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') }).command(['requests', 'list']).done;
    expect(list.code, list.stderr).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.startsWith(paddedId));
    expect(row).toMatch(/ orders-db {2}\(DELETE, SELECT\) SELECT 1; \/\* x+… \(\+\d+ characters: requests show req_\S+\) {2}needs 1$/);
  });
});
