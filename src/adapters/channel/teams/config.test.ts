import { describe, expect, it } from 'vitest';
import { conversationFor, teamsConfigSchema } from './config.ts';

const base = {
  appId: '11111111-2222-3333-4444-555555555555',
  appPassword: 'secret',
  tenantId: '66666666-7777-8888-9999-000000000000',
  conversation: { serviceUrl: 'https://smba.trafficmanager.net/emea/', id: '19:abc@thread.tacv2' },
};

describe('channels.teams', () => {
  it('fills in the Bot Framework endpoints and the 5-minute tolerance', () => {
    const cfg = teamsConfigSchema.parse(base);
    expect(cfg.openIdMetadataUrl).toBe('https://login.botframework.com/v1/.well-known/openidconfiguration');
    expect(cfg.tokenUrl).toBe('https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token');
    expect(cfg.clockToleranceSeconds).toBe(300);
  });

  it('refuses plain http except to loopback, unknown keys, and an app id that is not a GUID', () => {
    expect(teamsConfigSchema.safeParse({ ...base, tokenUrl: 'http://login.example.com/token' }).success).toBe(false);
    expect(teamsConfigSchema.safeParse({ ...base, conversation: { ...base.conversation, serviceUrl: 'http://127.0.0.1:3978/' } }).success).toBe(true);
    expect(teamsConfigSchema.safeParse({ ...base, botToken: 'x' }).success).toBe(false);
    expect(teamsConfigSchema.safeParse({ ...base, appId: 'my-bot' }).success).toBe(false);
    expect(teamsConfigSchema.safeParse({ ...base, appPassword: '' }).success).toBe(false);
  });

  it('names further conversations a rule may route to', () => {
    const db = { serviceUrl: 'https://smba.trafficmanager.net/emea/', id: '19:db@thread.tacv2' };
    const cfg = teamsConfigSchema.parse({ ...base, conversations: { 'db-approvals': db } });
    expect(conversationFor(cfg, 'db-approvals')).toEqual(db);
    expect(conversationFor(cfg)).toEqual(base.conversation);
  });
});
