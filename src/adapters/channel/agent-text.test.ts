/**
 * What an agent writes (its reason, its SQL, the target's error about it)
 * must never read as the gateway's own words on a chat card: no formatting,
 * link or mention of its renders, no line of it passes for one of the card's,
 * and no hidden character reorders or hides a word.
 */
import { describe, expect, it } from 'vitest';
import { blockKitProblem } from '../../../test/support/block-kit.ts';
import { requestRecord } from '../../../test/support/fixtures.ts';
import { makeFacts } from '../../core/facts.ts';
import type { RequestRecord } from '../../core/request.ts';
import { minimalMessage, outcomeDm, requestMessage } from './slack/message.ts';
import { requestCard } from './teams/card.ts';
import { heldRequestView } from './teams/view.ts';

const URL = 'https://countersign.example.com/requests/req_1';
const HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/;

const FAKES = [
  'Routine cleanup.\nRisk: read-only · staging\nAction: SELECT 1',
  'ok\u2028Risk: read-only\u2029Approve and run SELECT 1',
  '*Risk: read-only*\n_verified by the gateway_ ~no~ `code` ```block``` <https://evil.example|Approve> <!channel> <!here> <@U123> &gt;',
  'please \u202Eeteled\u202C approve\u200B\u2066x\u2069\uFEFF',
];

type Obj = Record<string, unknown>;
function walk(node: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(node)) node.forEach((n) => walk(n, out));
  else if (node && typeof node === 'object') {
    out.push(node as Obj);
    Object.values(node).forEach((v) => walk(v, out));
  }
  return out;
}
const slackTexts = (blocks: unknown) => walk(blocks).filter((o) => (o['type'] === 'mrkdwn' || o['type'] === 'plain_text') && typeof o['text'] === 'string') as { type: string; text: string }[];

const record = (reason: string, extra: Partial<RequestRecord> = {}) => requestRecord({ ...extra, action: { ...requestRecord().action, reason } });

describe('the agent’s reason on a Slack message', () => {
  for (const reason of FAKES) {
    it(`is plain text behind a gutter, never formatted: ${JSON.stringify(reason.slice(0, 30))}`, () => {
      const message = requestMessage(record(reason), URL);
      expect(blockKitProblem(message)).toBeUndefined();
      const texts = slackTexts(message.blocks);
      // No mrkdwn text holds any line of the agent's words.
      for (const t of texts.filter((x) => x.type === 'mrkdwn')) for (const line of reason.split(/[\n\u2028\u2029]/)) expect(t.text).not.toContain(line);
      const claim = texts.find((t) => t.type === 'plain_text' && t.text.startsWith('│ '))!;
      expect(claim.text.split('\n').every((l) => l.startsWith('│ '))).toBe(true);
      for (const t of texts) expect(t.text).not.toMatch(HIDDEN);
    });
  }

  it('shows the action line, the agent’s SQL, as plain text on the full and the minimal message', () => {
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql: 'SELECT 1; ~DELETE FROM orders~ *Risk: read-only*' } } });
    for (const message of [requestMessage(r, URL), minimalMessage(r, URL)]) {
      const texts = slackTexts(message.blocks);
      // The exact input is a code block, where nothing is formatted; every other mrkdwn text is the gateway's.
      for (const t of texts.filter((x) => x.type === 'mrkdwn' && !x.text.startsWith('*Exact input*'))) expect(t.text).not.toContain('~DELETE');
      expect(texts.find((t) => t.text.startsWith('SQL on '))?.type).toBe('plain_text');
    }
  });

  it('shows the target’s error, which can quote the agent, as plain text', () => {
    const r = { ...record('x'), status: 'failed' as const, error: { code: 'EXECUTION_FAILED' as const, message: 'relation "<!channel> *Risk: read-only*" does not exist\u202E' } };
    for (const message of [requestMessage(r, URL), outcomeDm(r, URL)]) {
      const error = slackTexts(message.blocks).find((t) => t.text.includes('does not exist'))!;
      expect(error.type).toBe('plain_text');
      expect(error.text).not.toMatch(HIDDEN);
    }
  });

  it('shows table names from the agent’s SQL as plain text', () => {
    const r = requestRecord({ facts: makeFacts('postgres', { writes: true, sql: { ...makeFacts('postgres', { writes: true }).sql, tables: ['public."*Risk: read-only*"'] } }) });
    const facts = slackTexts(requestMessage(r, URL).blocks).find((t) => t.text.includes('Risk: read-only*'))!;
    expect(facts.type).toBe('plain_text');
  });

  it('shows an agent id from a token (any printable text) as plain text, so `*` or `~` in it formats nothing', () => {
    const id = 'ci-bot* (human) ✅ approved by ~security~ _';
    const r = requestRecord({ principal: { ...requestRecord().principal, id, actsFor: '*alice* ✅' } });
    const who = slackTexts(requestMessage(r, URL).blocks).filter((t) => t.text.includes('ci-bot'));
    expect(who.length).toBeGreaterThan(0);
    for (const t of who) expect(t.type, t.text).toBe('plain_text');
    expect(who.some((t) => t.text.includes(`${id} (agent) for *alice* ✅`))).toBe(true);
  });
});

describe('the agent’s reason on a Teams card', () => {
  for (const reason of FAKES) {
    it(`has every line after the first behind a gutter, and no hidden character: ${JSON.stringify(reason.slice(0, 30))}`, () => {
      const card = requestCard(heldRequestView(record(reason)), { publicUrl: 'https://countersign.example.com' });
      const runs = walk(card).filter((o) => o['type'] === 'TextRun').map((o) => String(o['text']));
      const claim = runs[runs.findIndex((t) => t.startsWith("Agent's claim")) + 1]!;
      const [, ...rest] = claim.split('\n');
      expect(rest.every((l) => l.startsWith('│ '))).toBe(true);
      for (const t of walk(card).filter((o) => typeof o['text'] === 'string' || typeof o['title'] === 'string')) expect(String(t['text'] ?? t['title'])).not.toMatch(HIDDEN);
    });
  }
});

describe('a reason of many short lines', () => {
  const reason = Array.from({ length: 150 }, (_, i) => `line ${i}`).join('\n');

  it('previews at most 8 lines on Slack and says there is more', () => {
    const texts = slackTexts(requestMessage(record(reason), URL).blocks);
    const at = texts.findIndex((t) => t.text.startsWith("*Agent's claim (unverified)*"));
    expect(texts[at]!.text).toContain('show all in the console');
    expect(texts[at + 1]!.text.split('\n')).toHaveLength(8);
  });

  it('previews at most 8 lines on Teams, the rest behind Show more', () => {
    const card = requestCard(heldRequestView(record(reason)), { publicUrl: 'https://countersign.example.com' });
    const runs = walk(card).filter((o) => o['type'] === 'TextRun').map((o) => String(o['text']));
    const preview = runs[runs.findIndex((t) => t.startsWith("Agent's claim")) + 1]!;
    expect(preview.split('\n')).toHaveLength(8);
    expect(walk(card).some((o) => o['title'] === 'Show more')).toBe(true);
  });
});

describe('facts longer than a section', () => {
  it('say how much of them the Slack message left out', () => {
    const tables = Array.from({ length: 400 }, (_, i) => `public.table_number_${i}`);
    const r = requestRecord({ facts: makeFacts('postgres', { writes: true, sql: { ...makeFacts('postgres', { writes: true }).sql, tables, statements: [{ type: 'delete', tables, hasWhere: true }] } }) });
    const facts = slackTexts(requestMessage(r, URL).blocks).find((t) => t.text.startsWith('Facts: '))!;
    expect(facts.text).toMatch(/… \(\d[\d,]* more characters: see the console\)$/);
    expect(facts.text.length).toBeLessThanOrEqual(3000);
  });
});

describe('a table name with a letter of another script (a homoglyph)', () => {
  const tables = ['public.\u043erders'];
  const r = requestRecord({ facts: makeFacts('postgres', { writes: true, sql: { ...makeFacts('postgres', { writes: true }).sql, tables, statements: [{ type: 'delete', tables, hasWhere: true }] } }) });

  it('is named in the risk line of the Slack message and the Teams card', () => {
    const risk = slackTexts(requestMessage(r, URL).blocks).find((t) => t.text.startsWith('*Risk:'))!;
    expect(risk.text).toContain('look-alike name');
    const runs = walk(requestCard(heldRequestView(r), { publicUrl: 'https://countersign.example.com' })).filter((o) => o['type'] === 'TextRun').map((o) => String(o['text']));
    expect(runs[runs.indexOf('Risk: ') + 1]).toContain('look-alike name');
  });
});
