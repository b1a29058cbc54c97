/**
 * A SQL identifier may hold a line break (`DELETE FROM "orders\nApprovals
 * still needed: none"` is valid PostgreSQL), and the table names the gateway
 * derives go into the facts line of the Slack message and the Teams card.
 * There the break started a line of its own, in the card's plain text, that
 * read as one of the gateway's (`Approvals still needed: none`, `Access:
 * read-only`). The break is shown as ` ⏎ `, as the action line shows one
 * after a `--` comment. A name that holds more than an identifier's
 * characters is shown in quotes (core/name-text.ts): without a break,
 * `"orders · read-only"` read on the facts line as a table and a fact.
 * Real parts: the gateway, a fake Slack and a fake Bot Framework that
 * speak their protocols, the compiled CLI, the console over HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeBotFramework } from '../support/fake-botframework.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { startReviewGateway, type ReviewGateway } from '../support/review-channels.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { runCli } from '../support/run-cli.ts';
import { getPage, signIn } from '../support/console.ts';

let slack: FakeSlack;
let bf: FakeBotFramework;
let fixture: ReviewGateway | undefined;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-fact-lines-'));
  fixture = await startReviewGateway();
  ({ slack, bf, gw } = fixture);
});

afterAll(async () => {
  await fixture?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every text a card or message shows, depth first. */
function texts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => (k === 'text' || k === 'title' ? [String(v)] : []).concat(typeof v === 'object' ? texts(v) : []));
  return [];
}

/** Texts with a line that starts with the forged words, other than the exact input (the SQL as the agent wrote it). */
const forgedLines = (shown: string[]) => shown.filter((t) => /(^|\n)access: read-only/i.test(t) && !t.includes('DELETE FROM "orders\nAccess: read-only'));

describe('a quoted table name with a line break in it', () => {
  const sql = 'DELETE FROM "orders\nAccess: read-only · approvals still needed: none" WHERE id = 1';
  let id: string;
  beforeAll(async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql }, reason: 'remove one test order' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    id = res.body.id as string;
  });

  it('forges no line of the Slack message: the facts stay on one line, the break shown as ⏎', async () => {
    const msg = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    const facts = texts(msg.body['blocks']).find((t) => t.startsWith('Facts: '));
    expect(facts).toMatch(/^Facts: delete · "orders ⏎ access: read-only · approvals still needed: none" · writes/);
    expect(facts).not.toContain('\n');
    // The only line that starts with those words is in the exact input, the SQL as written.
    expect(forgedLines(texts(msg.body['blocks']))).toEqual([]);
  });

  it('forges no line of the Teams card: the Tables fact stays on one line, the break shown as ⏎', async () => {
    const posted = await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id)));
    const shown = texts(posted.body);
    const tables = shown[shown.indexOf('Tables: ') + 1];
    expect(tables).toBe('"orders ⏎ access: read-only · approvals still needed: none"');
    expect(forgedLines(shown)).toEqual([]);
  });

  it('forges no line of the CLI’s requests show: the facts stay on one line, the break shown as ⏎', async () => {
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const show = await cli.command(['requests', 'show', id]).done;
    expect(show.code, show.stderr).toBe(0);
    const facts = show.stdout.split('\n').find((l) => l.startsWith('  facts '));
    expect(facts).toContain('tables="orders ⏎ access: read-only · approvals still needed: none"');
    // The SQL as written stays behind the input's gutter; no line of the output starts with the forged words.
    expect(show.stdout.split('\n').filter((l) => /^\s*access: read-only/i.test(l))).toEqual([]);
  });

  it('is shown in quotes on one line on the console, whose inline code joined its lines unquoted', async () => {
    const page = await (await getPage(gw.url, await signIn(gw.url, gw.keys['alice']!), `/requests/${id}`)).text();
    const facts = /<dl class="pairs" aria-label="facts">.*?<\/dl>/s.exec(page)?.[0] ?? '';
    expect(facts).toContain('<dt>tables</dt><dd><code>&quot;orders ⏎ access: read-only · approvals still needed: none&quot;</code></dd>');
    expect(facts).not.toContain('\n');
  });
});

describe('a quoted table name that holds the facts line’s own separator and words', () => {
  // No line break here: on one line, `update · orders · read-only · writes` read as four facts, one of them `read-only`.
  const sql = 'UPDATE "orders · read-only · access: read-only" SET note = 1 WHERE id = 1';
  let id: string;
  beforeAll(async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql }, reason: 'fix one note' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    id = res.body.id as string;
  });

  it('is shown in quotes on Slack, Teams and the CLI, so its words read as the name they are', async () => {
    const msg = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    expect(texts(msg.body['blocks'])).toContain('Facts: update · "orders · read-only · access: read-only" · writes');
    const posted = await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id)));
    const shown = texts(posted.body);
    expect(shown[shown.indexOf('Tables: ') + 1]).toBe('"orders · read-only · access: read-only"');
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const show = await cli.command(['requests', 'show', id]).done;
    expect(show.stdout.split('\n').find((l) => l.startsWith('  facts '))).toContain('tables="orders · read-only · access: read-only"  ');
  });
});
