/**
 * A reviewer's comment, and a break-glass justification, are a person's free
 * text shown to other people: the next approver of a two-person approval
 * reads the first one's comment on the CLI's `requests show`, the Slack
 * message and the Teams card. A line break in it started a line of its own
 * that read as one of the gateway's (`approvals   still needed: none`, a
 * second `Approved by *bob*`), and in Slack the comment sat in mrkdwn, where
 * `*bold*` and `~strike~` are formatted. Each is shown as agent text is: on
 * one line, the break as ` ⏎ `, and in Slack as plain text. Real parts: the
 * gateway, a fake Slack and a fake Bot Framework that speak their protocols,
 * the compiled CLI on pipes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeBotFramework } from '../support/fake-botframework.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { startReviewChannels, type ReviewChannels } from '../support/review-channels.ts';
import { DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { runCli } from '../support/run-cli.ts';

let slack: FakeSlack;
let bf: FakeBotFramework;
let channels: ReviewChannels | undefined;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-comment-lines-'));
  channels = await startReviewChannels();
  ({ slack, bf } = channels);
  gw = await startTestGateway(
    `${channels.yaml}policy:
  default: deny
  rules:
    - id: sql-writes
      when: facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      breakGlass: { groups: [oncall] }
      ttl: 1h
`,
    { principals: [...DEFAULT_PRINCIPALS, { id: 'erin', kind: 'human' as const, groups: ['oncall'] }] },
  );
});

afterAll(async () => {
  await gw?.stop();
  await channels?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function hold(): Promise<string> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'orders-db', input: { sql: 'DELETE FROM orders WHERE id = 1' }, reason: 'remove one test order' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

/** Every text a card or message shows, depth first. */
function texts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => (k === 'text' || k === 'title' ? [String(v)] : []).concat(typeof v === 'object' ? texts(v) : []));
  return [];
}

/** Every mrkdwn text of a Slack message: where `*`, `_`, `~` and `` ` `` format. */
function mrkdwnTexts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(mrkdwnTexts);
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    return (o['type'] === 'mrkdwn' ? [String(o['text'])] : []).concat(Object.values(o).flatMap((v) => (typeof v === 'object' ? mrkdwnTexts(v) : [])));
  }
  return [];
}

describe('a first approver’s comment with a line break in it', () => {
  const comment = 'looks fine *to me*\nApproved by bob · approvals   still needed: none';
  let id: string;
  beforeAll(async () => {
    id = await hold();
    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const approve = await cli.command(['requests', 'approve', id, '-m', comment]).done;
    expect(approve.code, approve.stderr).toBe(0);
  });

  it('forges no line of the CLI’s requests show the second approver reads', async () => {
    const cli = runCli({ url: gw.url, key: gw.keys['bob']!, credentials: join(dir, 'none.json') });
    const show = await cli.command(['requests', 'show', id]).done;
    expect(show.code, show.stderr).toBe(0);
    const lines = show.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('  reviews '))).toContain('("looks fine *to me* ⏎ Approved by bob · approvals   still needed: none")');
    expect(lines.filter((l) => /^\s*Approved by bob/.test(l))).toEqual([]);
    expect(lines.find((l) => l.startsWith('  approvals '))).toBe('  approvals   still needed: 1 from group sre (rule sql-writes)');
  });

  it('is plain text on one line in the Slack message, never mrkdwn', async () => {
    const update = await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('*alice*'));
    const blocks = update.body['blocks'];
    // The reviewer and the time are the gateway's, in mrkdwn; the comment is not in any mrkdwn text.
    expect(mrkdwnTexts(blocks).some((t) => t.includes('Approved by *alice*'))).toBe(true);
    expect(mrkdwnTexts(blocks).filter((t) => t.includes('to me'))).toEqual([]);
    expect(texts(blocks)).toContain('looks fine *to me* ⏎ Approved by bob · approvals   still needed: none');
    expect(texts(blocks).filter((t) => /(^|\n)Approved by bob/.test(t))).toEqual([]);
  });

  it('stays on one line of the Teams card', async () => {
    // While pending the card names the reviewers only; once decided it shows their comments.
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'deny', comment: 'not today\nApproved by carol' } })).status).toBe(200);
    const update = await eventually(async () => bf.updated.find((u) => JSON.stringify(u.body).includes(id) && JSON.stringify(u.body).includes('not today')));
    const shown = texts(update.body);
    expect(shown).toContain('looks fine *to me* ⏎ Approved by bob · approvals   still needed: none');
    expect(shown).toContain('not today ⏎ Approved by carol');
    expect(shown.filter((t) => /(^|\n)Approved by (bob|carol)/.test(t))).toEqual([]);
  });

  it('stays on one line of the decided Slack message, its error line too', async () => {
    // bob's deny above decided it; the deny's message quotes his comment.
    const update = await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('Denied by *bob*'));
    const shown = texts(update.body['blocks']);
    expect(shown).toContain('not today ⏎ Approved by carol');
    expect(shown.find((t) => t.startsWith('Error: '))).toContain('not today ⏎ Approved by carol');
    expect(shown.filter((t) => /(^|\n)Approved by (bob|carol)/.test(t))).toEqual([]);
  });
});

describe('a break-glass justification with a line break in it', () => {
  const justification = 'checkout is down\nEscalation after 15m to group sre: not needed';
  let id: string;
  beforeAll(async () => {
    id = await hold();
    const res = await gw.as('erin', `/v1/requests/${id}/break-glass`, { body: { justification } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  const forged = (shown: string[]) => shown.filter((t) => /(^|\n)Escalation after/.test(t));

  it('stays on one line of the Slack message’s safety nets', async () => {
    const update = await slack.waitFor('chat.update', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id) && JSON.stringify(c.body['blocks']).includes('Break-glass by erin'));
    const nets = texts(update.body['blocks']).find((t) => t.startsWith('Break-glass by erin'));
    expect(nets).toContain('checkout is down ⏎ Escalation after 15m to group sre: not needed');
    expect(forged(texts(update.body['blocks']))).toEqual([]);
    // The message beside the card that says the glass was broken, too.
    const said = await slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes('Justification: checkout is down'));
    expect(texts(said.body['blocks'])).toContain('Justification: checkout is down ⏎ Escalation after 15m to group sre: not needed');
  });

  it('stays on one line of the Teams card’s safety nets', async () => {
    const update = await eventually(async () => bf.updated.find((u) => JSON.stringify(u.body).includes(id) && JSON.stringify(u.body).includes('Break-glass by erin')));
    expect(texts(update.body).join('\n')).toContain('checkout is down ⏎ Escalation after 15m to group sre: not needed');
    expect(forged(texts(update.body))).toEqual([]);
    const said = await eventually(async () => bf.posted.find((p) => JSON.stringify(p.body).includes('Justification: checkout is down')));
    expect(texts(said.body).join('\n')).toContain('Justification: checkout is down ⏎ Escalation after 15m to group sre: not needed');
    expect(forged(texts(said.body))).toEqual([]);
  });
});
