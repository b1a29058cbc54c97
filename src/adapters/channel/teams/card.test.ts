import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { messageCard, requestCard, type CardElement, type HeldRequestView } from './card.ts';
import { SAMPLE_OPTIONS, SAMPLE_VIEW } from './sample.ts';

const SAMPLE_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../../../docs/teams-card.sample.json');

/** Every element of the card, nested ones included. */
function elements(node: unknown): CardElement[] {
  if (Array.isArray(node)) return node.flatMap(elements);
  if (typeof node !== 'object' || node === null) return [];
  const el = node as CardElement;
  return [el, ...Object.values(el).flatMap(elements)];
}
const texts = (card: unknown) => elements(card).filter((e) => e.type === 'TextRun' || e.type === 'TextBlock').map((e) => String(e.text));
const allText = (card: unknown) => texts(card).join('');
const actionsOf = (card: unknown) => elements(card).filter((e) => typeof e.type === 'string' && (e.type as string).startsWith('Action.'));

describe('the Teams card for a held request', () => {
  it('shows who asked and for whom, the connection and tags, the input, facts, reason, rules, what is needed and the expiry', () => {
    const text = allText(requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS));
    for (const part of ['billing-agent', 'alice', 'prod-db', 'env: prod', 'data: pii', 'compliance: soc2, gdpr', SAMPLE_VIEW.input, 'public.invoices', SAMPLE_VIEW.reason, 'prod-writes-need-approval, pii-needs-dpo', '1 more from group dba', '2026-01-15 10:30 UTC']) {
      expect(text).toContain(part);
    }
  });

  it('puts the input in monospace', () => {
    const input = elements(requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS)).find((e) => e.text === SAMPLE_VIEW.input);
    expect(input).toMatchObject({ type: 'TextRun', fontType: 'Monospace' });
  });

  it('offers Approve and Deny as Action.Execute carrying only the request id, Deny with a required reason', () => {
    const card = requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS);
    expect(card.version).toBe('1.5');
    const executes = actionsOf(card).filter((a) => a.type === 'Action.Execute' && a.verb !== 'refresh');
    expect(executes.map((a) => a.verb)).toEqual(['approve', 'deny']);
    for (const a of executes) expect(a.data).toEqual({ requestId: SAMPLE_VIEW.id });
    // The sample is on prod and PII: Approve sends the confirmation toggle with it; elsewhere it sends nothing.
    expect(executes[0]).toMatchObject({ associatedInputs: 'auto', title: SAMPLE_VIEW.approveLabel });
    const plainCard = requestCard({ ...SAMPLE_VIEW, confirm: null, approveLabel: 'Approve (1 of 2)' }, SAMPLE_OPTIONS);
    expect(plainCard.actions?.[0]).toMatchObject({ type: 'Action.Execute', verb: 'approve', title: 'Approve (1 of 2)', associatedInputs: 'none' });
    const reason = elements(card).find((e) => e.type === 'Input.Text');
    expect(reason).toMatchObject({ id: 'reason', isRequired: true });
  });

  it('carries a refresh action while the request can still change, and none once final', () => {
    expect(requestCard(SAMPLE_VIEW, { ...SAMPLE_OPTIONS, refreshUserIds: ['29:a', '29:b'] }).refresh).toEqual({
      action: { type: 'Action.Execute', verb: 'refresh', data: { requestId: SAMPLE_VIEW.id } },
      userIds: ['29:a', '29:b'],
    });
    expect(requestCard({ ...SAMPLE_VIEW, status: 'executing' }, SAMPLE_OPTIONS).refresh).toBeDefined();
    expect(requestCard({ ...SAMPLE_VIEW, status: 'succeeded' }, SAMPLE_OPTIONS).refresh).toBeUndefined();
  });

  it('truncates long input and links to the full request', () => {
    const input = `SELECT ${'x, '.repeat(1000)}1`;
    const card = requestCard({ ...SAMPLE_VIEW, input }, { ...SAMPLE_OPTIONS, maxInputChars: 100 });
    const text = allText(card);
    expect(text).toContain(input.slice(0, 100));
    expect(text).not.toContain(input.slice(0, 101));
    expect(text).toContain(`${input.length - 100} more characters`);
    expect(actionsOf(card)).toContainEqual({ type: 'Action.OpenUrl', url: `https://countersign.example.com/requests/${SAMPLE_VIEW.id}` });
  });

  it('renders agent-supplied text only as plain TextRuns, so markdown and mentions stay inert', () => {
    const hostile = '**APPROVED** by [security](https://evil.example) <at>everyone</at>\u202Egnp.exe';
    const view: HeldRequestView = { ...SAMPLE_VIEW, reason: hostile, requester: { id: '[x](https://evil.example)', kind: 'agent' }, facts: [{ label: 'Tables', value: '_t_' }] };
    const card = requestCard(view, SAMPLE_OPTIONS);
    // No TextBlock (which renders markdown) holds anything the agent wrote.
    for (const t of elements(card).filter((e) => e.type === 'TextBlock')) {
      expect(String(t.text)).not.toMatch(/evil|APPROVED|_t_/);
    }
    const runs = elements(card).filter((e) => e.type === 'TextRun').map((e) => String(e.text));
    expect(runs).toContain('**APPROVED** by [security](https://evil.example) <at>everyone</at>\uFFFDgnp.exe');
    expect(JSON.stringify(card)).not.toContain('msteams":{"entities');
  });

  it('shows a {{DATE(…)}} or {{TIME(…)}} the agent wrote as written, not as the date Teams would format it into', () => {
    // Teams' renderers format these in every TextRun and TextBlock (the reviewer read 'Sun, Dec 6, 2026' where the SQL holds the template).
    const rendered = /\{\{(DATE|TIME)\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[-+]\d{2}:?\d{2})(,\s*(SHORT|LONG|COMPACT)\s*)?\)\}\}/;
    const input = "UPDATE jobs SET note = '{{DATE(2026-12-06T10:00:00Z, SHORT)}}'";
    const reason = 'runs at {{TIME(2026-12-06T10:00:00+01:00)}}';
    const card = requestCard({ ...SAMPLE_VIEW, input, reason, action: `SQL on prod-db: ${input}` }, SAMPLE_OPTIONS);
    for (const t of texts(card)) expect(t).not.toMatch(rendered);
    const shown = texts(card).map((t) => t.replaceAll('\u2060', ''));
    expect(shown).toContain(input);
    expect(shown.join('')).toContain(reason);
  });

  it('shows the outcome with who decided and when, and no buttons', () => {
    const view: HeldRequestView = {
      ...SAMPLE_VIEW,
      status: 'succeeded',
      reviews: [{ reviewer: 'bob', verdict: 'approve', at: '2026-01-15T09:41:00.000Z' }],
      result: '3 rows updated',
    };
    const card = requestCard(view, SAMPLE_OPTIONS);
    expect(card.actions).toBeUndefined();
    expect(actionsOf(card).map((a) => a.type)).toEqual(['Action.OpenUrl']);
    const text = allText(card);
    expect(text).toContain('Approved and executed');
    expect(text).toContain('Approved by bob at 2026-01-15 09:41 UTC');
    expect(text).toContain('3 rows updated');
    const denied = allText(requestCard({ ...SAMPLE_VIEW, status: 'denied', reviews: [{ reviewer: 'carol', verdict: 'deny', at: '2026-01-15T09:42:00.000Z', reason: 'not during the freeze' }] }, SAMPLE_OPTIONS));
    expect(denied).toContain('Denied by carol at 2026-01-15 09:42 UTC: not during the freeze');
  });

  it('shows a notice to the one who clicked above the card', () => {
    const card = requestCard(SAMPLE_VIEW, { ...SAMPLE_OPTIONS, notice: 'You cannot review your own request.' });
    expect(texts(card.body[0])).toEqual(['You cannot review your own request.']);
    expect(allText(messageCard('gone'))).toBe('gone');
  });

  it('matches docs/teams-card.sample.json (UPDATE_SAMPLES=1 rewrites it)', () => {
    const rendered = `${JSON.stringify(requestCard(SAMPLE_VIEW, SAMPLE_OPTIONS), null, 2)}\n`;
    if (process.env.UPDATE_SAMPLES === '1') writeFileSync(SAMPLE_FILE, rendered);
    expect(readFileSync(SAMPLE_FILE, 'utf8')).toBe(rendered);
  });
});

describe('the values bound to the SQL on a Teams card', () => {
  it('are shown apart from the statement, however long it is, so a `-- params:` comment cannot stand in for them', async () => {
    const { requestRecord } = await import('../../../../test/support/fixtures.ts');
    const { heldRequestView } = await import('./view.ts');
    for (const pad of [0, 5000]) {
      const r = requestRecord({ action: { ...requestRecord().action, input: { sql: `UPDATE accounts SET credit_limit = $1 WHERE id = 42\n-- params: ["100"]\n/*${'x'.repeat(pad)}*/`, params: ['1000000'] } } });
      const runs = texts(requestCard(heldRequestView(r), SAMPLE_OPTIONS));
      const at = runs.indexOf('Parameters: ');
      expect(at, `pad ${pad}`).toBeGreaterThan(-1);
      expect(runs[at + 1]).toBe('$1 = "1000000"');
    }
  });
});

describe('the confirmation a Teams card asks for on production or PII', () => {
  // Teams draws an Input.Toggle's title as a TextBlock, which renders markdown: a link's target is not shown.
  const hidden = "SQL on prod-db: SELECT '[SELECT 1 FROM reports](<' ; DROP TABLE invoices; SELECT '>)'";
  const view: HeldRequestView = { ...SAMPLE_VIEW, action: hidden, confirm: `I understand this runs ${hidden} on production, on personal data (PII).` };
  const showCard = () => actionsOf(requestCard(view, SAMPLE_OPTIONS)).find((a) => a.type === 'Action.ShowCard' && a.title === 'Approve…')!.card as { body: CardElement[] };

  it('keeps the agent’s text out of the toggle’s title, which Teams renders as markdown', () => {
    const toggle = showCard().body.find((e) => e.type === 'Input.Toggle')!;
    expect(String(toggle.title)).not.toContain('SELECT');
    expect(toggle).toMatchObject({ id: 'confirm', isRequired: true, valueOn: 'true' });
  });

  it('says the whole sentence above the toggle, as a plain-text run', () => {
    const body = showCard().body;
    expect(body[0]).toMatchObject({ type: 'RichTextBlock' });
    expect(texts(body[0])).toEqual([view.confirm]);
    expect(body[1]).toMatchObject({ type: 'Input.Toggle' });
  });
});
