import { describe, expect, it } from 'vitest';
import { coverageSubjects, namedGroups } from './coverage-subjects.ts';
import { parseConfig } from './load.ts';

const config = parseConfig(
  `principals:
  - { id: deploy-bot, kind: agent, groups: [ci] }
  - { id: alice, kind: human, email: alice@example.com, groups: [sre, ci] }
roles: { auditor: [audit] }
identity:
  issuers:
    - issuer: https://idp.example.com/
      audience: countersign
      jwksUri: https://idp.example.com/jwks
      principal: { kind: agent, groups: groups }
      groupMap: { platform-eng: [platform] }
  login:
    issuer: https://login.example.com
    clientId: console
    groupMap: { Finance: [finance] }
connections:
  - { name: db, kind: postgres, url: "postgres://x@127.0.0.1/db" }
policy:
  rules:
    - { id: a, when: '"dba" in principal.groups && facts.sql.writes', effect: approve, approvers: [{ groups: [owners] }] }
    - { id: b, when: 'principal.groups.exists(g, g == "oncall")', effect: allow }
    - { id: c, when: '"not-a-group" in facts.sql.tables', effect: deny }
`,
  'test.yaml',
  {},
);

describe('coverage rows from the config', () => {
  it('names every group the config names, once, in the order first named; not other string literals', () => {
    expect(namedGroups(config)).toEqual(['ci', 'sre', 'platform', 'finance', 'audit', 'owners', 'dba', 'oncall']);
  });

  it('has a row per principal, per group, per token issuer and for the sign-in', () => {
    const rows = coverageSubjects(config);
    expect(rows.map((r) => r.key)).toEqual([
      'principal:deploy-bot', 'principal:alice',
      'group:ci', 'group:sre', 'group:platform', 'group:finance', 'group:audit', 'group:owners', 'group:dba', 'group:oncall',
      'issuer:https://idp.example.com/', 'login:https://login.example.com',
    ]);
    expect(rows.find((r) => r.key === 'issuer:https://idp.example.com/')).toMatchObject({ kind: 'agent', groups: ['platform'], label: 'any agent from issuer https://idp.example.com/' });
    expect(rows.find((r) => r.key === 'login:https://login.example.com')).toMatchObject({ kind: 'human', groups: ['finance'] });
    expect(rows.find((r) => r.key === 'principal:alice')?.samples).toEqual([{ id: 'alice', kind: 'human', actsFor: null, groups: ['sre', 'ci'], claims: {}, github: null }]);
  });
});
