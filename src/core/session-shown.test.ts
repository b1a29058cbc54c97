import { describe, expect, it } from 'vitest';
import { requestRecord } from '../../test/support/fixtures.ts';
import { boundInput } from '../adapters/channel/request-text.ts';
import { heldRequestView } from '../adapters/channel/teams/view.ts';
import { requestCard } from '../adapters/channel/teams/card.ts';
import { requestDetails } from '../cli/output.ts';
import type { RequestView } from '../surfaces/sdk/client.ts';
import { reviewBrief } from './review-brief.ts';
import { SESSION_LABEL, sessionContext, sessionShown, shownText } from './session-shown.ts';

const settings = ['DateStyle = "ISO, DMY" (default "ISO, MDY")'];
const objects = ['temporary table orders'];
const held = (context: Record<string, string>) => requestRecord({ context: { surface: 'postgres', sessionState: 'a'.repeat(64), ...context } });

describe('how a held statement’s session differs from a new one', () => {
  it('is recorded only when there is something to show, one line each, and read back as it was', () => {
    expect(sessionContext({ settings: [], objects: [] })).toEqual({});
    const context = sessionContext({ settings: [...settings, 'TimeZone = "UTC" (default "Europe/Berlin")'], objects });
    expect(context).toEqual({ sessionSettings: `${settings[0]}\nTimeZone = "UTC" (default "Europe/Berlin")`, sessionObjects: objects[0] });
    expect(sessionShown({ context })).toEqual({ settings: [settings[0], 'TimeZone = "UTC" (default "Europe/Berlin")'], objects });
    expect(sessionShown({ context: { surface: 'postgres' } })).toBeUndefined();
    expect(sessionShown({})).toBeUndefined();
  });

  it('quotes a value on one line, in printable ASCII: a new line, a bidi override or a Cyrillic letter is named', () => {
    expect(shownText('ISO, DMY')).toBe('"ISO, DMY"');
    expect(shownText('a"\\\n\u202eо\u{1f600}')).toBe('"a\\"\\\\\\u{a}\\u{202e}\\u{43e}\\u{1f600}"');
  });

  it('puts a `session state` risk on the brief every channel leads with, and nothing for a session as it started', () => {
    // The fixture's connection is tagged production.
    expect(reviewBrief(held(sessionContext({ settings, objects: [] }))).riskLine).toBe('writes · session state · prod · irreversible');
    expect(reviewBrief(held(sessionContext({ settings: [], objects }))).risks).toContain('session state');
    expect(reviewBrief(held({})).riskLine).toBe('writes · prod · irreversible');
  });

  it('Slack and Teams show the lines under a label of the gateway’s, after the statement’s parameters', () => {
    const r = held(sessionContext({ settings, objects }));
    expect(boundInput(r)).toEqual([
      { label: 'Parameters', value: '$1 = "shipped"\n$2 = 42' },
      { label: SESSION_LABEL, value: `${settings[0]}\n${objects[0]}` },
    ]);
    expect(boundInput(held({})).map((b) => b.label)).toEqual(['Parameters']);
    const card = JSON.stringify(requestCard(heldRequestView(r), { publicUrl: 'https://cs.example.com' }));
    expect(card).toContain(`${SESSION_LABEL}: `);
    expect(card).toContain('Risk: ');
    expect(card).toContain('writes · session state · prod · irreversible');
  });

  it('the CLI shows them under its own label, every line behind the gutter, and says so on the facts line', () => {
    const view = {
      id: 'req_1',
      status: 'pending',
      principal: { id: 'bot', kind: 'agent', actsFor: null, groups: [] },
      connection: { name: 'orders-db', kind: 'postgres', tags: {} },
      action: { connection: 'orders-db', operation: 'sql.execute', input: { sql: "DELETE FROM orders WHERE created < '03/04/2026'" }, reason: 'r' },
      facts: { kind: 'postgres', writes: true, sql: { statements: [{ type: 'delete' }], tables: ['orders'], functions: [], readOnly: false } },
      digest: 'd',
      decision: { effect: 'approve', rules: ['deletes'], message: null, policyHash: 'h', approvers: [] },
      approvals: { needed: 1, remaining: [] },
      reviews: [],
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
      expiresAt: null,
      result: null,
      error: null,
      session: { settings, objects },
    } as RequestView & { session?: { settings: string[]; objects: string[] } };
    const out = requestDetails(view);
    expect(out).toContain(`  session     differs from a new one:\n              │ ${settings[0]}\n              │ ${objects[0]}`);
    expect(out).toMatch(/ {2}facts {7}.*session state/);
    expect(requestDetails({ ...view, session: undefined })).not.toContain('session');
  });
});
