import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentDeliveryError } from '../../../core/channel.ts';
import { startFakeSlack, type FakeSlack } from '../../../../test/support/fake-slack.ts';
import { createSlackApi, SlackApiError } from './api.ts';

describe('the Slack Web API client (library loaded with the first call)', () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(() => slack.close());

  it('answers every one of many first calls made at once, each reaching Slack once', async () => {
    const api = createSlackApi({ apiUrl: slack.apiUrl, botToken: slack.botToken });
    const texts = Array.from({ length: 8 }, (_, i) => `first-call-${i}`);
    const answers = await Promise.all(texts.map((text) => api.call<{ ts: string }>('chat.postMessage', { channel: 'C0APPROVALS', text })));
    expect(answers.every((a) => a.ok === true && typeof a.ts === 'string')).toBe(true);
    const posted = slack.callsOf('chat.postMessage').map((c) => c.body['text']);
    for (const text of texts) expect(posted.filter((t) => t === text)).toHaveLength(1);
  });

  it('turns what Slack refuses into errors the outbox can judge', async () => {
    const api = createSlackApi({ apiUrl: slack.apiUrl, botToken: 'xoxb-not-the-bot' });
    await expect(api.call('chat.postMessage', { channel: 'C0APPROVALS', text: 'x' })).rejects.toThrow(PermanentDeliveryError);
    const down = createSlackApi({ apiUrl: 'http://127.0.0.1:1/api/', botToken: slack.botToken, timeoutMs: 2_000 });
    await expect(down.call('chat.postMessage', { channel: 'C0APPROVALS', text: 'x' })).rejects.toThrow(SlackApiError);
  });
});
