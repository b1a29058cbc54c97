import { describe, expect, it } from 'vitest';
import { messageCard } from './card.ts';
import { cardResponse, errorResponse, messageResponse, parseCardAction } from './invoke.ts';

const activity = (over: Record<string, unknown> = {}, data: Record<string, unknown> = { requestId: 'req_abc', reason: ' too risky ' }) => ({
  type: 'invoke',
  name: 'adaptiveCard/action',
  channelId: 'msteams',
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  replyToId: '1700000000123',
  from: { id: '29:1abc', aadObjectId: 'aaaaaaaa-0000-0000-0000-000000000001' },
  conversation: { id: '19:x@thread.tacv2', tenantId: 'tenant-1' },
  channelData: { tenant: { id: 'tenant-1' } },
  value: { action: { type: 'Action.Execute', verb: 'deny', data }, trigger: 'manual' },
  ...over,
});

describe('parsing an adaptiveCard/action invoke', () => {
  it('yields the verb, request id, trimmed reason, the clicking user and where the card lives', () => {
    expect(parseCardAction(activity())).toEqual({
      ok: true,
      action: {
        verb: 'deny',
        requestId: 'req_abc',
        reason: 'too risky',
        confirmed: false,
        aadObjectId: 'aaaaaaaa-0000-0000-0000-000000000001',
        tenantId: 'tenant-1',
        conversation: { serviceUrl: 'https://smba.trafficmanager.net/emea/', id: '19:x@thread.tacv2' },
        activityId: '1700000000123',
        trigger: 'manual',
      },
    });
  });

  it('drops an empty reason', () => {
    const p = parseCardAction(activity({}, { requestId: 'req_abc', reason: '   ' }));
    expect(p.ok && 'reason' in p.action).toBe(false);
  });

  it('refuses anything that is not an Action.Execute click on our card', () => {
    const bad = [
      activity({ name: 'composeExtension/query' }),
      activity({ type: 'message' }),
      activity({ from: { id: '29:1abc' } }),
      activity({}, { requestId: '../../etc' }),
      activity({}, {}),
      activity({ value: { action: { type: 'Action.Submit', verb: 'approve', data: { requestId: 'req_abc' } } } }),
      activity({ value: { action: { type: 'Action.Execute', verb: 'escalate', data: { requestId: 'req_abc' } } } }),
      activity({ channelData: {}, conversation: { id: '19:x' } }),
      null,
      'invoke',
    ];
    for (const a of bad) expect(parseCardAction(a)).toEqual({ ok: false, reason: 'teams.invoke_invalid' });
  });
});

describe('invoke responses', () => {
  it('wrap a card, an error or a message the way Universal Actions expect', () => {
    const card = messageCard('done');
    expect(cardResponse(card)).toEqual({ status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } });
    expect(errorResponse(403, 'SELF_APPROVAL_FORBIDDEN', 'no')).toEqual({ status: 200, body: { statusCode: 403, type: 'application/vnd.microsoft.error', value: { code: 'SELF_APPROVAL_FORBIDDEN', message: 'no' } } });
    expect(messageResponse('ok').body).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'ok' });
  });
});
