import { describe, expect, it } from 'vitest';
import { configGeneration } from './generation.ts';
import { parseConfig } from './load.ts';

const base = (extra: { port?: number; groups?: string; secret?: string; tags?: string; url?: string; paths?: string } = {}) =>
  parseConfig(
    `server: { port: ${extra.port ?? 8700} }
identity:
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

  it('stays with what replicas of one file may differ in: the port, the login’s client secret, where a connection goes', () => {
    const g = configGeneration(base(), 'sha256:p1');
    expect(configGeneration(base({ port: 8701 }), 'sha256:p1')).toBe(g);
    expect(configGeneration(base({ secret: 'another-secret' }), 'sha256:p1')).toBe(g);
    expect(configGeneration(base({ url: 'https://ops-eu.example.com' }), 'sha256:p1')).toBe(g);
  });
});
