/**
 * Agent text that draws as less than it holds, or as the gateway's own
 * formatting. A run of five backticks in the SQL closed Slack's code block
 * around the exact input (the fence was broken three at a time, leaving
 * ``` behind), so what followed rendered as mrkdwn: bold lines that read as
 * the card's own. Variation selectors (256 of them, invisible, enough to
 * carry a byte each: a message to a model downstream that the reviewer
 * never sees), the combining grapheme joiner and other marks that draw
 * nothing passed every surface as themselves and raised no flag; and a
 * letter under dozens of stacked marks draws over the lines above and
 * below it. Real parts: the gateway, a fake Slack and a fake Bot Framework
 * that speak their protocols, the console over HTTP, the compiled CLI.
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
  dir = mkdtempSync(join(tmpdir(), 'cs-review-marks-'));
  fixture = await startReviewGateway();
  ({ slack, bf, gw } = fixture);
  alice = await signIn(gw.url, gw.keys['alice']!);
});

afterAll(async () => {
  await fixture?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function hold(sql: string, reason = 'fix one note'): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql }, reason } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** Every text a card or message shows, depth first. */
function texts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => (k === 'text' || k === 'title' ? [String(v)] : []).concat(typeof v === 'object' ? texts(v) : []));
  return [];
}

const slackMessage = async (id: string) => (await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id))).body;
const teamsCard = async (id: string) => (await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes(id)))).body;

describe('backticks in the exact input on Slack', () => {
  it.each([3, 4, 5, 8, 11])('%i in a row leave the code block closed only by the gateway', async (n) => {
    const id = await hold(`UPDATE orders SET note = 'x${'`'.repeat(n)}\n*Policy: allowed by rule read-only*\n' WHERE id = 1`);
    const input = texts((await slackMessage(id))['blocks']).find((t) => t.startsWith('*Exact input*\n```'))!;
    expect(input.endsWith('```')).toBe(true);
    // Between the gateway's opening and closing fence, no fence of the agent's.
    expect(input.slice('*Exact input*\n```'.length, -3)).not.toContain('```');
    expect(input).toContain('*Policy: allowed by rule read-only*');
  });
});

describe('characters that draw nothing, or draw over other lines', () => {
  // A byte per variation selector after an emoji, the combining grapheme joiner, a Mongolian free variation selector.
  const smuggled = '\u{1F44D}\u{E0143}\u{E0154}\u{E0150}\uFE01 ok\u034F\u180B';
  // One letter under 40 stacked marks: drawn over the lines above and below it.
  const stacked = `ok ${'a'}${'\u030D\u0489\u0336\u0353'.repeat(10)} done`;

  it('are shown as U+FFFD and flag the request on the console, Slack and Teams', async () => {
    const id = await hold(`UPDATE orders SET note = '${smuggled}' WHERE id = 1`, stacked);
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(page).toContain('<strong class="risk-flag">hidden characters</strong>');
    for (const c of ['\u{E0143}', '\uFE01', '\u034F', '\u180B']) expect(page).not.toContain(c);
    expect(page).not.toMatch(/\p{M}{5}/u);

    const msg = texts((await slackMessage(id))['blocks']);
    expect(msg).toContain('*Risk: writes · hidden characters · irreversible*');
    expect(msg.join('\n')).not.toMatch(/[\uFE00-\uFE0F\u034F\u180B-\u180D\u{E0100}-\u{E01EF}]|\p{M}{5}/u);
    expect(msg.join('\n')).toContain('\u{1F44D}\uFFFD\uFFFD\uFFFD\uFFFD ok\uFFFD\uFFFD');

    const card = texts(await teamsCard(id));
    expect(card).toContain('writes · hidden characters · irreversible');
    expect(card.join('\n')).not.toMatch(/[\uFE00-\uFE0F\u034F\u180B-\u180D\u{E0100}-\u{E01EF}]|\p{M}{5}/u);
  });

  it('are named by the CLI', async () => {
    const id = await hold(`UPDATE orders SET note = '${smuggled}' WHERE id = 2`);
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const show = await cli.command(['requests', 'show', id]).done;
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('\\u{e0143}\\u{e0154}\\u{e0150}\\u{fe01} ok\\u{34f}\\u{180b}');
    expect(show.stdout).toMatch(/ {2}facts {7}.*hidden characters/);
  });

  it('leave an emoji’s own presentation selector and a letter’s accents as they are', async () => {
    const id = await hold("UPDATE orders SET note = '\u2764\uFE0F vi\u1EC7t nam Vie\u0323\u0302t' WHERE id = 3");
    const msg = texts((await slackMessage(id))['blocks']);
    expect(msg).toContain('*Risk: writes · irreversible*');
    expect(msg.join('\n')).toContain('\u2764\uFE0F vi\u1EC7t nam Vie\u0323\u0302t');
  });
});
