import { describe, expect, it } from 'vitest';
import { slackManifest } from './manifest.ts';

describe('the Slack app manifest', () => {
  it('points interactivity at the gateway and asks for the scopes the channel uses', () => {
    const m = slackManifest('https://cs.example.com/') as any;
    expect(m.settings.interactivity).toEqual({ is_enabled: true, request_url: 'https://cs.example.com/integrations/slack/interactions' });
    // users:read.email: without it users.info reports no email and no click can count.
    expect(m.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['chat:write', 'im:write', 'users:read', 'users:read.email']));
  });
});
