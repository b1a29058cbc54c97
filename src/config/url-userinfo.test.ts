import { describe, expect, it } from 'vitest';
import { CountersignError } from '../core/errors.ts';
import { parseConfig } from './load.ts';

// A password written into a URL of the config would go wherever that URL goes: links in Slack and Teams messages and
// in the NOTICE a native Postgres client gets (publicUrl, console.origin), the redirect URI sent to the provider, fetch's
// errors (which quote the URL whole) in logs. No such URL needs one, so each refuses a user or password at load.
const SECRET = 'hunter2-s3cret';
const SLACK = `botToken: "xoxb-1-2-abc", signingSecret: "0123456789abcdef0123456789abcdef", channel: C1, teamId: T1, appId: A1`;
const TEAMS = (serviceUrl: string, metadata = 'https://login.botframework.com/v1/.well-known/openidconfiguration') => `channels:
  teams:
    appId: 11111111-2222-3333-4444-555555555555
    appPassword: secret
    tenantId: 66666666-7777-8888-9999-000000000000
    openIdMetadataUrl: "${metadata}"
    conversation: { serviceUrl: "${serviceUrl}", id: "19:a@thread.tacv2" }
`;
const WITH = `https://ops:${SECRET}@gateway.example.com`;

const cases: Record<string, { yaml: string; path: string }> = {
  'channels.publicUrl': { yaml: `channels: { publicUrl: "${WITH}/" }`, path: 'channels.publicUrl' },
  'channels.publicUrl, user only': { yaml: `channels: { publicUrl: "https://${SECRET}@gateway.example.com" }`, path: 'channels.publicUrl' },
  'console.origin': { yaml: `console: { origin: "${WITH}" }`, path: 'console.origin' },
  'console.webauthn.origins': { yaml: `console: { webauthn: { rpId: gateway.example.com, origins: ["${WITH}"] } }`, path: 'console.webauthn.origins[0]' },
  'channels.slack.apiUrl': { yaml: `channels: { slack: { ${SLACK}, apiUrl: "${WITH}/api/" } }`, path: 'channels.slack.apiUrl' },
  'channels.teams serviceUrl': { yaml: TEAMS(`${WITH}/emea/`), path: 'channels.teams.conversation.serviceUrl' },
  'channels.teams.openIdMetadataUrl': { yaml: TEAMS('https://smba.trafficmanager.net/emea/', `${WITH}/.well-known/openidconfiguration`), path: 'channels.teams.openIdMetadataUrl' },
  'identity.login.issuer': { yaml: `identity: { login: { issuer: "${WITH}", clientId: cs } }`, path: 'identity.login.issuer' },
  'identity.login.publicUrl': { yaml: `identity: { login: { issuer: "https://idp.example.com", clientId: cs, publicUrl: "${WITH}" } }`, path: 'identity.login.publicUrl' },
  'identity.issuers[].issuer': { yaml: `identity: { issuers: [{ issuer: "${WITH}", audience: cs, principal: { kind: human, id: email } }] }`, path: 'identity.issuers[0]' },
  'tracing.otlp.url': { yaml: `tracing: { otlp: { url: "${WITH}/v1/traces" } }`, path: 'tracing.otlp.url' },
};

function refusal(text: string): string {
  try {
    parseConfig(text, 'countersign.yaml', {});
  } catch (e) {
    expect(e).toBeInstanceOf(CountersignError);
    expect((e as CountersignError).code).toBe('CONFIG_INVALID');
    return (e as CountersignError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('URLs in the config carry no user or password', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`refuses one in ${name}, naming the field and not quoting it`, () => {
      const message = refusal(c.yaml);
      expect(message).toContain(c.path);
      expect(message).toMatch(/user or password/);
      expect(message).not.toContain(SECRET);
    });
  }

  it('takes the same URLs without one', () => {
    const c = parseConfig(
      `channels: { publicUrl: "https://gateway.example.com/", slack: { ${SLACK}, apiUrl: "https://slack.example.com/api/" } }\nconsole: { origin: "https://gateway.example.com" }\ntracing: { otlp: { url: "https://otel.example.com/v1/traces" } }\nidentity: { login: { issuer: "https://idp.example.com", clientId: cs, publicUrl: "https://gateway.example.com" } }`,
      'countersign.yaml',
      {},
    );
    expect(c.channels.publicUrl).toBe('https://gateway.example.com/');
    expect(c.channels.slack?.apiUrl).toBe('https://slack.example.com/api/');
    expect(c.tracing.otlp.url).toBe('https://otel.example.com/v1/traces');
    expect(parseConfig(TEAMS('https://smba.trafficmanager.net/emea/'), 'countersign.yaml', {}).channels.teams?.conversation?.serviceUrl).toBe('https://smba.trafficmanager.net/emea/');
  });
});
