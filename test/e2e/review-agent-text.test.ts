/**
 * A SQL line comment does not hide what runs after it. PostgreSQL ends `--`
 * at a line break, \n or a lone \r, and runs the rest; the one-line forms a
 * reviewer reads first (the console's heading and inbox, the Approve
 * button, the Slack header and notification, the Teams card, the CLI's
 * list) flattened the break to a space, so `WHERE id = 1 -- checked\nOR
 * true` read as a one-row delete with a commented-out tail; and the console
 * coloured everything after a `--` up to \n as comment, and showed a lone
 * \r as U+FFFD, so a DELETE after it read as part of the comment. Hidden
 * characters (bidi overrides, zero-width, controls) flag the request on
 * every surface, besides being shown as U+FFFD or named. Real
 * parts: the gateway, a fake Slack and a fake Bot Framework that speak
 * their protocols, the compiled CLI on pipes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, signIn, type ConsoleUser } from '../support/console.ts';
import type { FakeBotFramework } from '../support/fake-botframework.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { startReviewGateway, type ReviewGateway } from '../support/review-channels.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';
import { runCli } from '../support/run-cli.ts';

let slack: FakeSlack;
let bf: FakeBotFramework;
let fixture: ReviewGateway | undefined;
let gw: TestGateway;
let alice: ConsoleUser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-line-comments-'));
  fixture = await startReviewGateway();
  ({ slack, bf, gw } = fixture);
  alice = await signIn(gw.url, gw.keys['alice']!);
});

afterAll(async () => {
  await fixture?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function hold(sql: string): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql }, reason: 'remove one test order' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** Every text a card or message shows, depth first. */
function texts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => (k === 'text' || k === 'title' ? [String(v)] : []).concat(typeof v === 'object' ? texts(v) : []));
  return [];
}

const approveButton = (page: string) => /<button type="submit" name="verdict" value="approve"[^>]*>([^<]*)<\/button>/.exec(page)?.[1];

describe('a DELETE whose WHERE goes on after a line comment', () => {
  const sql = 'DELETE FROM orders WHERE id = 1 -- checked by ops\nOR true';
  const line = 'SQL on orders-db: DELETE FROM orders WHERE id = 1 -- checked by ops ⏎ OR true';
  let id: string;
  beforeAll(async () => {
    id = await hold(sql);
  });

  it('shows where the comment ends on the console heading, the inbox and the Approve button', async () => {
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toContain(`<h1 class="action-line"><code>${line}</code></h1>`);
    expect(approveButton(page)).toBe(`Approve and run ${line}`.slice(0, approveButton(page)!.length));
    expect(approveButton(page)).toContain('⏎');
    const inbox = await (await getPage(gw.url, alice, '/')).text();
    expect(inbox).toContain(`<a class="card-link" href="/requests/${id}"><span class="summary">${line}</span></a>`);
  });

  it('shows it on the Slack header, action line and notification text', async () => {
    const msg = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    expect(msg.body['text']).toContain('-- checked by ops ⏎ OR true');
    const shown = texts(msg.body['blocks']);
    expect(shown.find((t) => t.startsWith('Approval needed: '))).toContain('-- checked by ops ⏎ OR true');
    expect(shown).toContain(line);
    expect(shown.join('\n')).not.toContain('-- checked by ops OR true');
  });

  it('shows it on the Teams card', async () => {
    const posted = await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id)));
    const shown = texts(posted.body).join('\n');
    expect(shown).toContain(line);
    expect(shown).not.toContain('-- checked by ops OR true');
  });

  it('shows it on the CLI’s requests list', async () => {
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const list = await cli.command(['requests', 'list']).done;
    expect(list.code).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.startsWith(id));
    expect(row).toContain('DELETE FROM orders WHERE id = 1 -- checked by ops ⏎ OR true');
  });
});

describe('a statement after a line comment ended by a lone carriage return', () => {
  it('is shown on its own line on the console page, coloured as code, not as part of the comment', async () => {
    const id = await hold('SELECT 1; -- read only\rDELETE FROM orders');
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toContain('<span class="sql-comment">-- read only</span>\n<span class="sql-keyword">DELETE</span>');
    expect(page).not.toMatch(/<span class="sql-comment">[^<]*DELETE/);
    expect(page).toContain('<code>SQL on orders-db: SELECT 1; -- read only ⏎ DELETE FROM orders</code>');
    const msg = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    // The exact input in Slack's code block: the break is there, not a U+FFFD joining the DELETE to the comment.
    expect(texts(msg.body['blocks']).join('\n')).toContain('SELECT 1; -- read only\nDELETE FROM orders');
  });
});

describe('hidden characters in the SQL', () => {
  it('flag the request on the console, Slack, Teams and the CLI, besides being shown as U+FFFD or named', async () => {
    // U+202E draws the rest reversed: `'\u202Eeteled'` would read as `'deleted'` unmarked.
    const id = await hold("UPDATE orders SET note = '\u202Eeteled' WHERE id = 1");
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toContain('<strong class="risk-flag">hidden characters</strong>');
    expect(page).not.toContain('\u202E');
    const msg = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    expect(texts(msg.body['blocks'])).toContain('*Risk: writes · hidden characters · irreversible*');
    const posted = await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id)));
    expect(texts(posted.body)).toContain('writes · hidden characters · irreversible');
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const show = await cli.command(['requests', 'show', id]).done;
    expect(show.stdout).toContain("'\\u{202e}eteled'");
    expect(show.stdout).toMatch(/ {2}facts {7}.*hidden characters/);
  });
});

describe('a statement PostgreSQL runs after a comment or quote the console once read otherwise', () => {
  // PostgreSQL nests block comments, ends an operator before `--` or `/*`, and takes a non-ASCII letter in a dollar
  // quote's tag: each way the console's colouring lost step with it, and what ran after was coloured as a string.
  it.each([
    ['a nested block comment', "/* checked /* */ 'read only */ DELETE FROM orders; --'"],
    ['a line comment right after an operator', "SELECT 1 *--'\n 2; DELETE FROM orders; --'"],
    ['a block comment right after an operator', "SELECT 1 */* '*/ 2; DELETE FROM orders; --'"],
    // A dollar quote's tag may hold any letter PostgreSQL reads as one, `é` too: the quote ends at `$é$`.
    ['a dollar quote with a tag of other letters', "SELECT $é$ ' $é$; DELETE FROM orders; --'"],
    // A no-break space is no space to PostgreSQL but a letter, and `$` goes on an identifier: `\u00A0$q$` is a name.
    ['a name that starts with a no-break space', 'SELECT 1 \u00A0$q$; DELETE FROM orders; SELECT $q$$q$'],
    // A literal goes on after a line break and a quote as the kind it began: `E'x'\n'\' '` is one escape string.
    ['an escape string that goes on after a line break', "SELECT E'x'\n'\\' ' ; DELETE FROM orders; --'"],
  ])('is coloured as code after %s', async (_, sql) => {
    const id = await hold(sql);
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).not.toMatch(/<span class="sql-(?:string|comment)">[^<]*DELETE/);
    expect(page).toContain('<span class="sql-keyword">DELETE</span>');
  });
});
