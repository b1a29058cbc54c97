/**
 * The action line where a channel has less room than the line's own 160
 * characters. Slack's header holds 150 characters with `Approval needed: `
 * before the action, and its Approve button 75 with `Approve and run `: they
 * cut the action line as it was made for 160, so SQL between about 60 and
 * 160 characters lost its tail there, and `SELECT 1; -- padding ⏎ DELETE
 * FROM orders` read on the button as `Approve and run SQL on orders-db:
 * SELECT 1; -- bbb…`. The line is made for the room each place has, so a
 * cut one leads with the statement kinds (DELETE first), as the 160-
 * character line already did. Real parts: the gateway, a fake Slack and a
 * fake Bot Framework that speak their protocols, the console over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, signIn, type ConsoleUser } from '../support/console.ts';
import type { FakeBotFramework } from '../support/fake-botframework.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { startReviewGateway, type ReviewGateway } from '../support/review-channels.ts';
import { eventually, type TestGateway } from '../support/gateway.ts';

let slack: FakeSlack;
let bf: FakeBotFramework;
let fixture: ReviewGateway | undefined;
let gw: TestGateway;
let alice: ConsoleUser;

beforeAll(async () => {
  fixture = await startReviewGateway();
  ({ slack, bf, gw } = fixture);
  alice = await signIn(gw.url, gw.keys['alice']!);
});

afterAll(async () => {
  await fixture?.close();
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

const approveButton = (page: string) => /<button type="submit" name="verdict" value="approve"[^>]*>([^<]*)<\/button>/.exec(page)?.[1];

describe('a DELETE after a line comment that fills the room of a narrow place', () => {
  // 152 characters as an action line: it fits the line's 160, not the header's 133 nor the button's 59.
  const sql = `SELECT 1; -- ${'b'.repeat(100)}\nDELETE FROM orders`;

  it('is named on the Slack header and Approve button, and on the console and Teams buttons, which have room for it', async () => {
    const id = await hold(sql);
    const blocks = (await slackMessage(id))['blocks'] as { type: string; text?: { text: string }; elements?: { action_id?: string; text: { text: string } }[] }[];
    const header = blocks.find((b) => b.type === 'header')!.text!.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(header).toMatch(/^Approval needed: SQL on orders-db \(DELETE, SELECT\): SELECT 1; -- b+…$/);
    const button = blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === 'countersign_approve')!.text.text;
    expect(button.length).toBeLessThanOrEqual(75);
    expect(button).toMatch(/^Approve and run SQL on orders-db \(DELETE, SELECT\): /);
    // The full line, where it fits, still shows the statement as it is.
    expect(texts(blocks)).toContain(`SQL on orders-db: SELECT 1; -- ${'b'.repeat(100)} ⏎ DELETE FROM orders`);
    const page = await (await getPage(gw.url, alice, `/requests/${id}`)).text();
    expect(approveButton(page)).toContain('⏎ DELETE FROM orders');
    expect(texts(await teamsCard(id)).find((t) => t.startsWith('Approve and run'))).toContain('⏎ DELETE FROM orders');
  });
});
