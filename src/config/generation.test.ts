import { describe, expect, it } from 'vitest';
import { configGeneration } from './generation.ts';
import { parseConfig } from './load.ts';

type Extra = { port?: number; groups?: string; secret?: string; tags?: string; url?: string; paths?: string; sections?: string; slack?: string | null };
const SLACK = 'botToken: xoxb-1, signingSecret: s1-0123456789abcdef, channel: C0APPROVALS, teamId: T0ONE, appId: A0ONE';

const base = (extra: Extra = {}) =>
  parseConfig(
    `server: { port: ${extra.port ?? 8700} }
${extra.sections ?? ''}${extra.slack === null ? '' : `channels:\n  slack: { ${extra.slack ?? SLACK} }\n`}identity:
  login: { issuer: https://idp.example.com, clientId: cs, clientSecret: ${extra.secret ?? 'one-secret'} }
principals:
  - { id: alice, kind: human, email: alice@example.com, groups: ${extra.groups ?? '[sre]'} }
connections:
  - { name: ops-api, kind: http, url: ${extra.url ?? 'https://ops.example.com'}, headers: { authorization: Bearer t0ken }, tags: ${extra.tags ?? '{ env: prod }'}${extra.paths ?? ''} }
policy: { default: deny }
`,
    'countersign.yaml',
    {},
  );

describe('configGeneration', () => {
  it('changes with what decides: the policy, a human’s groups, a connection’s tags and how its paths are read', () => {
    const g = configGeneration(base(), 'sha256:p1');
    expect(configGeneration(base(), 'sha256:p1')).toBe(g);
    expect(configGeneration(base(), 'sha256:p2')).not.toBe(g);
    expect(configGeneration(base({ groups: '[dev]' }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ tags: '{ env: dev }' }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ paths: ', paths: { caseInsensitive: true }' }), 'sha256:p1')).not.toBe(g);
  });

  it('changes with what the audit log keeps of an input, the console and its sign-ins, and the chat that vouches for reviewers', () => {
    const g = configGeneration(base(), 'sha256:p1');
    expect(configGeneration(base({ sections: 'audit: { sensitive: [body.password] }\n' }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ sections: 'console: { enabled: false }\n' }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ sections: 'console: { sessionTtl: 1h }\n' }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ slack: null }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ slack: SLACK.replace('T0ONE', 'T0TWO') }), 'sha256:p1')).not.toBe(g);
    expect(configGeneration(base({ slack: SLACK.replace('A0ONE', 'A0TWO') }), 'sha256:p1')).not.toBe(g);
  });

  it('stays with what replicas of one file may differ in: the port, the login’s client secret, where a connection goes', () => {
    const g = configGeneration(base(), 'sha256:p1');
    expect(configGeneration(base({ port: 8701 }), 'sha256:p1')).toBe(g);
    expect(configGeneration(base({ secret: 'another-secret' }), 'sha256:p1')).toBe(g);
    expect(configGeneration(base({ url: 'https://ops-eu.example.com' }), 'sha256:p1')).toBe(g);
  });

  it('stays with a chat channel’s secrets and where its messages go', () => {
    const g = configGeneration(base(), 'sha256:p1');
    expect(configGeneration(base({ slack: SLACK.replace('xoxb-1', 'xoxb-2').replace('s1-', 's2-') }), 'sha256:p1')).toBe(g);
    expect(configGeneration(base({ slack: SLACK.replace('C0APPROVALS', 'C0OTHER') }), 'sha256:p1')).toBe(g);
  });
});
