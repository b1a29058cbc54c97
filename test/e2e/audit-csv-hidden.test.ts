/**
 * `countersign audit export --format csv`, opened by an auditor in a
 * spreadsheet. Its data cell is the event's JSON, where the agent's reason
 * and SQL are strings; JSON leaves a bidi override (U+202E), a line
 * separator (U+2028) and a C1 control (U+0085) raw, and the spreadsheet
 * draws them: an override reverses the rest of the cell, so `DELETE FROM
 * orders` can be laid out to read as something else. The cell now carries
 * each hidden character as a `\uXXXX` escape: the same JSON value, drawn as
 * what it is. `audit search --json`, read on a terminal, escapes them too
 * (a C1 CSI, U+009B, is a control a terminal may act on). The JSON lines
 * export stays the exact stored bytes. Real
 * parts: the gateway records the request; the compiled CLI exports its store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';

const SQL = 'DELETE FROM orders WHERE note = \'\u202Eyas\u202C\'';
const REASON = 'routine\u2028cleanup\u0085done\u2066x\u2069 \u009b2J';
// What a spreadsheet would draw instead of showing: C1 controls, bidi controls, line and paragraph separators, zero-width.
const HIDDEN = /[\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

let cfg: GatewayConfigFile;
let id: string;

beforeAll(async () => {
  cfg = await writeGatewayConfig(
    `connections:
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
policy:
  default: deny
  rules:
    - id: writes-held
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
`,
    { origin: 'countersign.test/csv-hidden' },
  );
  const gw = await cfg.start();
  try {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql: SQL }, reason: REASON } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    id = res.body.id as string;
  } finally {
    await gw.stop();
  }
}, 60_000);

afterAll(async () => {
  await cfg?.remove();
});

/** RFC 4180 rows: quoted cells may hold commas, quotes (doubled) and line breaks. */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else cell += c;
  }
  return rows;
}

describe('an event whose agent text holds hidden characters', { timeout: 60_000 }, () => {
  it('is exported to CSV with each one escaped, its data cell the same JSON value', async () => {
    const csv = await runCliHere(['audit', 'export', '--config', cfg.configPath, '--format', 'csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).not.toMatch(HIDDEN);
    const submitted = csvRows(csv.stdout).find((r) => r[2] === 'request.submitted' && r[3] === id);
    expect(submitted?.[5]).toContain('\\u202e');
    const data = JSON.parse(submitted![5]!) as { reason: string; input: { sql: string } };
    expect(data.reason).toBe(REASON);
    expect(data.input.sql).toBe(SQL);
  });

  it('is exported to JSON lines as the exact stored bytes', async () => {
    const jsonl = await runCliHere(['audit', 'export', '--config', cfg.configPath, '--format', 'jsonl']);
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const line = jsonl.stdout.split('\n').find((l) => l.includes('"request.submitted"'))!;
    expect(line).toContain('\u202E');
    expect(JSON.parse(line).data.reason).toBe(REASON);
  });

  it('is printed by audit search --json with each one escaped, the same JSON value', async () => {
    const search = await runCliHere(['audit', 'search', '--config', cfg.configPath, '--request', id, '--json']);
    expect(search.code, search.stderr).toBe(0);
    expect(search.stdout).not.toMatch(HIDDEN);
    const submitted = search.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'request.submitted');
    expect([submitted.data.reason, submitted.data.input.sql]).toEqual([REASON, SQL]);
  });
});
