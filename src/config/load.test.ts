import { describe, expect, it } from 'vitest';
import { CountersignError } from '../core/errors.ts';
import { loadConfig, parseConfig } from './load.ts';
import { ruleSpecOf } from './rule-spec.ts';

const HASH = `sha256:${'a'.repeat(64)}`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, 'countersign.yaml', env);
  } catch (e) {
    expect(e).toBeInstanceOf(CountersignError);
    expect((e as CountersignError).code).toBe('CONFIG_INVALID');
    return (e as CountersignError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('parseConfig', () => {
  it('reads identity.login.groupsMaxAge as a duration, 12h by default, and refuses one outside 1m..7d', () => {
    const login = (extra: string) => `identity:\n  login: { issuer: https://idp.example.com, clientId: console${extra} }\n`;
    expect(parseConfig(login(''), 'countersign.yaml', {}).identity.login?.groupsMaxAge).toBe(12 * 3600);
    expect(parseConfig(login(', groupsMaxAge: 8h'), 'countersign.yaml', {}).identity.login?.groupsMaxAge).toBe(8 * 3600);
    expect(parseConfig(login(', groupsMaxAge: 7d'), 'countersign.yaml', {}).identity.login?.groupsMaxAge).toBe(7 * 86_400);
    expect(problems(login(', groupsMaxAge: 30s'))).toContain('identity.login.groupsMaxAge');
    expect(problems(login(', groupsMaxAge: 8d'))).toContain('between 1m and 7d');
    expect(problems(login(', groupsMaxAge: 0'))).toContain('identity.login.groupsMaxAge');
    expect(problems(login(', groupsMaxAge: soon'))).toContain('identity.login.groupsMaxAge');
  });

  it('leaves the CLI’s device grant off unless identity.login.cli.deviceCode is true, which needs the grant’s public client', () => {
    const login = (cli: string) => `identity:\n  login: { issuer: https://idp.example.com, clientId: console, cli: ${cli} }\n`;
    expect(parseConfig(login('{}'), 'countersign.yaml', {}).identity.login?.cli).toMatchObject({ deviceCode: false });
    expect(parseConfig(login('{ clientId: cli }'), 'countersign.yaml', {}).identity.login?.cli).toMatchObject({ deviceCode: false, clientId: 'cli' });
    expect(parseConfig(login('{ deviceCode: true, clientId: cli }'), 'countersign.yaml', {}).identity.login?.cli).toMatchObject({ deviceCode: true, clientId: 'cli' });
    expect(problems(login('{ deviceCode: true }'))).toContain('identity.login.cli.clientId');
    // Listed by hand on the provider's issuer, the grant's client would take its tokens with the grant off.
    const issuer = (cli: string) => `${login(cli)}  issuers: [{ issuer: https://idp.example.com, audience: cs, principal: { kind: human, id: email }, clients: [cli, tool] }]\n`;
    expect(problems(issuer('{ clientId: cli }'))).toContain("identity.issuers[0].clients: lists cli, the device grant's public client");
    expect(() => parseConfig(issuer('{ deviceCode: true, clientId: cli }'), 'countersign.yaml', {})).not.toThrow();
    expect(() => parseConfig(issuer('{}'), 'countersign.yaml', {})).not.toThrow();
  });

  it('fills defaults: port 8700, SQLite under ./.countersign, default deny, 1h TTL', () => {
    const c = parseConfig('{}', 'countersign.yaml', {});
    expect(c.server.port).toBe(8700);
    expect(c.store.sqlite.path).toBe('./.countersign/countersign.db');
    expect(c.policy.default).toBe('deny');
    expect(c.policy.defaultTtl).toBe(3600);
    expect(Object.isFrozen(c.policy)).toBe(true);
  });

  it('reads the issue’s example shape, with ${VAR} from the environment and durations', () => {
    const c = parseConfig(
      `server: { port: 8700 }
principals:
  - { id: deploy-bot, kind: agent, actsFor: alice, apiKeys: ["${HASH}"] }
  - { id: alice, kind: human, email: alice@example.com, groups: [sre] }
connections:
  - name: billing-api
    kind: http
    url: http://127.0.0.1:9000
    headers: { Authorization: "Bearer \${BILLING_TOKEN}" }
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
  - { name: ops-tool, kind: exec, command: /usr/local/bin/kubectl }
  - { name: orders-db, kind: postgres, url: "\${ORDERS_DB_URL}" }
policy:
  default: deny
  rules:
    - { id: prod-writes, when: 'connection.tags.env == "prod" && facts.writes', effect: approve, approvers: [{ groups: [sre], count: 2 }], ttl: 90m }
`,
      'countersign.yaml',
      { BILLING_TOKEN: 't0k', ORDERS_DB_URL: 'postgres://u@h/db' },
    );
    const billing = c.connections[0]!;
    expect(billing.kind === 'http' && billing.headers['Authorization']).toBe('Bearer t0k');
    expect(c.policy.rules[0]!.ttl).toBe(5400);
    expect(c.policy.rules[0]!.approvers![0]).toEqual({ groups: ['sre'], count: 2 });
  });

  it('takes ${VAR:-fallback} and a literal $${', () => {
    const c = parseConfig('connections: [{ name: a, kind: http, url: "${A_URL:-http://127.0.0.1:1}", headers: { x: "$${NOT_A_VAR}" } }]', 'f', {});
    const a = c.connections[0]!;
    expect(a.kind === 'http' && [a.url, a.headers['x']]).toEqual(['http://127.0.0.1:1', '${NOT_A_VAR}']);
  });

  it('lets PORT override server.port', () => {
    expect(parseConfig('server: { port: 1 }', 'f', { PORT: '9123' }).server.port).toBe(9123);
    expect(problems('{}', { PORT: 'eighty' })).toContain('PORT (environment)');
  });

  it('takes server.runGrace as a duration of at least 5 s, 30 s by default', () => {
    expect(parseConfig('{}', 'f', {}).server.runGrace).toBe(30);
    expect(parseConfig('server: { runGrace: 5s }', 'f', {}).server.runGrace).toBe(5);
    expect(parseConfig('server: { runGrace: 2m }', 'f', {}).server.runGrace).toBe(120);
    expect(problems('server: { runGrace: 4 }')).toContain('server.runGrace: at least 5s');
  });

  it('names the file, the path and what was expected', () => {
    const m = problems('principals:\n  - { id: x, kind: robot, apiKeys: ["plain-key"] }\nconnections:\n  - { name: a, kind: exec, command: kubectl }');
    expect(m).toContain('countersign.yaml');
    expect(m).toContain('principals[0].kind');
    expect(m).toContain('principals[0].apiKeys[0]: sha256:<64 lower-case hex digits>');
    expect(m).toContain('connections[0].command: an absolute path');
  });

  it('refuses a missing environment variable, naming it and where it is used', () => {
    expect(problems('connections: [{ name: a, kind: postgres, url: "${DB_URL}" }]')).toContain('connections[0].url: environment variable DB_URL is not set');
  });

  it('refuses unknown keys, duplicate ids and dangling references', () => {
    expect(problems('serverr: {}')).toContain('serverr');
    expect(problems('principals: [{ id: a, kind: human }, { id: a, kind: human }]')).toContain('duplicate principal id a');
    expect(problems('principals: [{ id: alice, kind: human }, { id: Alice, kind: human }]')).toContain('principals[1].id: Alice differs from alice only in case');
    expect(problems('principals: [{ id: a, kind: human, email: Ann@example.com }, { id: b, kind: human, email: ann@EXAMPLE.com }]')).toContain('one email is one human');
    expect(problems('principals: [{ id: ann@example.com, kind: human }, { id: b, kind: human, email: Ann@example.com }]')).toContain('one email is one human');
    expect(problems('principals: [{ id: bot, kind: agent, actsFor: alcie }]')).toContain('alcie is not a configured human principal');
    expect(problems(`principals: [{ id: a, kind: human, apiKeys: ["${HASH}"] }, { id: b, kind: human, apiKeys: ["${HASH}"] }]`)).toContain('already used');
    expect(problems('principals: [{ id: bot, kind: agent, issuers: ["https://idp.example.com"] }]')).toContain('principals[0].issuers[0]: https://idp.example.com is not a configured issuer');
    // Bound to the console login (it names humans only), an agent could never be named by a token.
    expect(problems('identity: { login: { issuer: "https://idp.example.com", clientId: cs } }\nprincipals: [{ id: bot, kind: agent, issuers: ["https://idp.example.com"] }]')).toContain('principals[0].issuers[0]: https://idp.example.com names humans only; bot is an agent');
    expect(problems('policy: { rules: [{ id: r, when: "true", effect: allow, approvers: [{ groups: [x] }] }] }')).toContain('approvers, ttl, escalate, breakGlass, stepUp and grant belong to rules whose effect is approve');
  });

  it('refuses an agent whose email is a configured human’s mailbox: that human would approve what the agent asks', () => {
    const refused = 'an agent’s address is never a person’s';
    expect(problems('principals: [{ id: bot, kind: agent, email: Ops@Example.com }, { id: olga, kind: human, email: ops@example.com }]')).toContain(`principals[0].email: Ops@Example.com is the mailbox of olga; ${refused}`);
    expect(problems('principals: [{ id: bot, kind: agent, email: olga+bot@example.com }, { id: olga, kind: human, email: olga@example.com }]')).toContain(`principals[0].email: olga+bot@example.com is the mailbox of olga; ${refused}`);
    expect(problems('principals: [{ id: bot, kind: agent, email: ops@example.com }, { id: olga, kind: human, email: ops+olga@example.com }]')).toContain(`principals[0].email: ops@example.com is the mailbox of olga; ${refused}`);
    expect(problems('principals: [{ id: bot, kind: agent, email: olga@example.com }, { id: olga@example.com, kind: human }]')).toContain(`principals[0].email: olga@example.com is the mailbox of olga@example.com; ${refused}`);
    expect(problems('principals: [{ id: bot, kind: agent, email: o.lga@googlemail.com }, { id: olga, kind: human, email: olga@gmail.com }]')).toContain(`principals[0].email: o.lga@googlemail.com is the mailbox of olga; ${refused}`);
    // An address of its own, acting for her, is how an agent is hers.
    expect(() => parseConfig('principals: [{ id: bot, kind: agent, actsFor: olga, email: bot@example.com }, { id: olga, kind: human, email: olga@example.com }]', 'countersign.yaml', {})).not.toThrow();
  });

  it('asks for the email of every human where humans sign in through an identity provider', () => {
    const login = 'identity: { login: { issuer: "https://idp.example.com", clientId: countersign } }\n';
    const humanTokens = 'identity: { issuers: [{ issuer: "https://idp.example.com", audience: cs, principal: { kind: human, id: email } }] }\n';
    const people = (alice: string) => `principals: [{ id: bot, kind: agent, actsFor: alice }, ${alice}]`;
    for (const identity of [login, humanTokens]) {
      expect(problems(identity + people('{ id: alice, kind: human }'))).toContain('alice has no email, and humans sign in through an identity provider');
      expect(() => parseConfig(identity + people('{ id: alice, kind: human, email: alice@example.com }'), 'countersign.yaml', {})).not.toThrow();
    }
    // Not only the human an agent acts for: one who submits with her own key, or an approver, is one person too.
    for (const identity of [login, humanTokens]) {
      expect(problems(identity + 'principals: [{ id: ops, kind: human }]')).toContain('principals[0].email: ops has no email');
      expect(problems(identity + 'principals: [{ id: bot, kind: agent }, { id: dina, kind: human, groups: [dba] }]')).toContain('principals[1].email: dina has no email');
    }
    // Without a provider's sign-in for humans, or with an id that is the email, there is nothing to match.
    expect(() => parseConfig(people('{ id: alice, kind: human }'), 'countersign.yaml', {})).not.toThrow();
    expect(() => parseConfig(login + 'principals: [{ id: bot, kind: agent, actsFor: alice@example.com }, { id: alice@example.com, kind: human }]', 'countersign.yaml', {})).not.toThrow();
  });

  it('reads an escalation ladder with durations and break-glass groups, and refuses a rung that names nobody', () => {
    const c = parseConfig(
      'principals: [{ id: mona, kind: human }]\npolicy: { rules: [{ id: r, when: "true", effect: approve, escalate: [{ after: 15m, to: { groups: [oncall] } }, { after: 1h, to: { principals: [mona] } }], breakGlass: { groups: [oncall] } }] }',
      'countersign.yaml',
      {},
    );
    expect(c.policy.rules[0]!.escalate).toEqual([
      { after: 900, to: { groups: ['oncall'], principals: [] } },
      { after: 3600, to: { groups: [], principals: ['mona'] } },
    ]);
    expect(c.policy.rules[0]!.breakGlass).toEqual({ groups: ['oncall'] });
    expect(problems('policy: { rules: [{ id: r, when: "true", effect: approve, escalate: [{ after: 15m, to: {} }] }] }')).toContain('name at least one group or principal');
    expect(problems('principals: [{ id: bot, kind: agent }]\npolicy: { rules: [{ id: r, when: "true", effect: approve, escalate: [{ after: 15m, to: { principals: [bot] } }] }] }')).toContain(
      'policy.rules[0].escalate[0].to.principals[0]: bot is not a configured human principal',
    );
    expect(problems('policy: { rules: [{ id: r, when: "true", effect: approve, breakGlass: { groups: [] } }] }')).toContain('breakGlass.groups');
  });

  it('reads a rule\'s undo: false on allow and approve rules only, and carries it to the policy', () => {
    const c = parseConfig('policy: { rules: [{ id: r, when: "true", effect: approve, undo: false }, { id: a, when: "true", effect: allow, undo: false }] }', 'countersign.yaml', {});
    expect(c.policy.rules.map((r) => ruleSpecOf(r).undo)).toEqual([false, false]);
    expect(ruleSpecOf(parseConfig('policy: { rules: [{ id: r, when: "true", effect: approve }] }', 'f', {}).policy.rules[0]!)).not.toHaveProperty('undo');
    expect(problems('policy: { rules: [{ id: r, when: "true", effect: deny, undo: false }] }')).toContain('undo: false belongs to rules whose effect is allow or approve');
    expect(problems('policy: { rules: [{ id: r, when: "true", effect: approve, undo: true }] }')).toContain('policy.rules[0].undo');
  });

  it('reads scoped-grant terms and refuses them beyond their caps, with unsafe paths, or on a rule that is not approve', () => {
    const rule = (grant: string, effect = 'approve') => `policy: { rules: [{ id: r, when: "true", effect: ${effect}, grant: ${grant} }] }`;
    const c = parseConfig(rule('{ maxUses: 5, maxDuration: 30m, vary: [params, body.amount] }'), 'countersign.yaml', {});
    expect(ruleSpecOf(c.policy.rules[0]!).grant).toEqual({ maxUses: 5, maxDurationSeconds: 1800, vary: ['params', 'body.amount'] });
    expect(problems(rule('{ maxUses: 1001, maxDuration: 30m }'))).toContain('grant.maxUses');
    expect(problems(rule('{ maxUses: 0, maxDuration: 30m }'))).toContain('grant.maxUses');
    expect(problems(rule('{ maxUses: 2, maxDuration: 25h }'))).toContain('at most 24h');
    expect(problems(rule('{ maxUses: 2, maxDuration: 1h, vary: [body.__proto__] }'))).toContain('grant.vary[0]');
    expect(problems(rule('{ maxUses: 2, maxDuration: 1h, vary: ["params[0]"] }'))).toContain('grant.vary[0]');
    // What the action is may never vary: other SQL text with the same facts (another WHERE) would ride on the grant.
    // Nor may headers as a whole: an added X-HTTP-Method-Override turns the granted POST into a DELETE. One header may.
    expect(problems(rule('{ maxUses: 2, maxDuration: 1h, vary: [headers] }'))).toContain('grant.vary[0]');
    expect(ruleSpecOf(parseConfig(rule('{ maxUses: 2, maxDuration: 1h, vary: [headers.x-request-id] }'), 'f', {}).policy.rules[0]!).grant?.vary).toEqual(['headers.x-request-id']);
    for (const what of ['sql', 'method', 'path', 'tool', 'args']) {
      expect(problems(rule(`{ maxUses: 2, maxDuration: 1h, vary: [params, ${what}] }`))).toContain('grant.vary[1]');
    }
    expect(problems(rule('{ maxUses: 2, maxDuration: 1h }', 'allow'))).toContain('grant belong to rules whose effect is approve');
  });

  it('takes readOnlyFunctions only schema-qualified, as facts.sql.functions names them', () => {
    const pgConn = (fns: string) => `connections: [{ name: a, kind: postgres, url: "postgres://u@h/db", readOnlyFunctions: ${fns} }]`;
    const c = parseConfig(pgConn('[public.report_totals]'), 'f', {});
    expect(c.connections[0]).toMatchObject({ readOnlyFunctions: ['public.report_totals'], poolSize: 4 });
    expect(problems(pgConn('[report_totals]'))).toContain('connections[0].readOnlyFunctions[0]: schema.function');
    expect(problems(pgConn('["public.Report"]'))).toContain('connections[0].readOnlyFunctions[0]: schema.function');
  });

  it('previews held writes on a postgres connection unless told not to, with bounded timeouts', () => {
    const pgConn = (preview: string) => `connections: [{ name: a, kind: postgres, url: "postgres://u@h/db"${preview ? `, preview: ${preview}` : ''} }]`;
    expect(parseConfig(pgConn(''), 'f', {}).connections[0]).toMatchObject({ preview: {} });
    expect(parseConfig(pgConn('true'), 'f', {}).connections[0]).toMatchObject({ preview: {} });
    expect(parseConfig(pgConn('false'), 'f', {}).connections[0]).toMatchObject({ preview: false });
    expect(parseConfig(pgConn('{ timeoutMs: 500, lockTimeoutMs: 200 }'), 'f', {}).connections[0]).toMatchObject({ preview: { timeoutMs: 500, lockTimeoutMs: 200 } });
    expect(problems(pgConn('{ timeoutMs: 0 }'))).toContain('connections[0].preview');
    expect(problems(pgConn('{ timeout: 500 }'))).toContain('connections[0].preview');
  });

  it('keeps an undo of approved writes on a postgres connection unless told not to, bounded in rows', () => {
    const pgConn = (undo: string) => `connections: [{ name: a, kind: postgres, url: "postgres://u@h/db"${undo ? `, undo: ${undo}` : ''} }]`;
    expect(parseConfig(pgConn(''), 'f', {}).connections[0]).toMatchObject({ undo: {} });
    expect(parseConfig(pgConn('false'), 'f', {}).connections[0]).toMatchObject({ undo: false });
    expect(parseConfig(pgConn('{ maxRows: 50 }'), 'f', {}).connections[0]).toMatchObject({ undo: { maxRows: 50 } });
    expect(problems(pgConn('{ maxRows: -1 }'))).toContain('connections[0].undo');
    expect(problems(pgConn('{ rows: 5 }'))).toContain('connections[0].undo');
  });

  it('refuses an mcp connection name that would make <connection>__<tool> split wrongly', () => {
    const mcp = (name: string) => `connections: [{ name: "${name}", kind: mcp, url: "http://127.0.0.1:1/mcp" }]`;
    expect(problems(mcp('files_'))).toContain('connections[0].name: no "_" at the start or end of an mcp connection name');
    expect(problems(mcp('_files'))).toContain('connections[0].name');
    expect(problems(mcp('fi__les'))).toContain('no "__" in an mcp connection name');
    expect(parseConfig(mcp('my_files'), 'countersign.yaml', {}).connections[0]?.name).toBe('my_files');
  });

  it('refuses an http connection url with a user, password, query or fragment: the gateway would never send them', () => {
    const http = (url: string) => `connections: [{ name: api, kind: http, url: "${url}" }]`;
    for (const url of ['https://svc:pw@api.example.com', 'https://tok@api.example.com/v1', 'https://api.example.com/v1?key=abc', 'https://api.example.com/v1#x']) {
      expect(problems(http(url)), url).toContain('connections[0].url: credentials go in headers');
    }
    expect(parseConfig(http('https://api.example.com/v1/'), 'countersign.yaml', {}).connections[0]?.name).toBe('api');
  });

  it('fails the load when a rule does not compile, naming the rule', () => {
    expect(problems('policy: { rules: [{ id: broken-rule, when: "facts.x ==", effect: deny }] }')).toMatch(/policy\.rules\[0\] \(id broken-rule\): condition does not compile/);
  });

  it('fails the load on every misspelled fact of every rule at once, with the known fields and the closest', () => {
    const m = problems(`principals: [{ id: bot, kind: agent, actsFor: nobody }]
policy:
  rules:
    - { id: reads, when: "facts.sql.read_only", effect: allow }
    - { id: fine, when: "facts.sql.readOnly", effect: allow }
    - { id: gets, when: 'facts.http.methd == "GET"', effect: allow }
`);
    expect(m).toContain('nobody is not a configured human principal');
    expect(m).toContain(
      '  - policy.rules[0] (id reads): facts.sql.read_only: no such field; facts.sql has statements, tables, readOnly, writes, ddl, privilege, unboundedWrite, functions (did you mean facts.sql.readOnly?)\n',
    );
    expect(m).toContain('  - policy.rules[2] (id gets): facts.http.methd: no such field; facts.http has method, path, query (did you mean facts.http.method?)');
    expect(m).not.toContain('(id fine)');
  });

  it('reports YAML syntax errors with a line', () => {
    expect(problems('server: { port: 1\nstore: [')).toMatch(/line \d+/);
  });

  it('reads identity issuers: the generic form and the presets, with their defaults', () => {
    const c = parseConfig(
      `identity:
  issuers:
    - issuer: https://idp.example.com/
      audience: countersign
      jwksUri: https://idp.example.com/keys
      algorithms: [RS256, ES256]
      principal: { kind: agent, id: sub, groups: groups, actsFor: act.sub }
    - preset: github-actions
      audience: countersign-prod
      principal: { kind: agent, id: repository }
      repositories: [{ id: 123, ownerId: 45 }]
    - preset: okta
      issuer: https://acme.okta.com/oauth2/default
      audience: api://countersign
`,
      'countersign.yaml',
      {},
    );
    expect(c.identity.clockSkewSeconds).toBe(60);
    expect(c.identity.jwks.cooldownSeconds).toBe(30);
    expect(c.identity.issuers.map((i) => i.issuer)).toEqual(['https://idp.example.com/', 'https://token.actions.githubusercontent.com', 'https://acme.okta.com/oauth2/default']);
    expect(c.identity.issuers[1]).toMatchObject({ principal: { kind: 'agent', id: 'repository' }, repositories: [{ id: '123', ownerId: '45' }] });
    expect(c.identity.issuers[2]).toMatchObject({ principal: { kind: 'agent', id: 'sub' } });
  });

  it('refuses unsafe issuers: plain http off loopback, HMAC algorithms, Okta’s org server, GitHub without pinned repositories, one issuer twice', () => {
    expect(problems('identity: { issuers: [{ issuer: "http://idp.example.com", audience: a, principal: { kind: agent } }] }')).toContain('identity.issuers[0].issuer: an https:// URL');
    expect(problems('identity: { issuers: [{ issuer: "https://idp.example.com", audience: a, algorithms: [HS256], principal: { kind: agent } }] }')).toContain('identity.issuers[0].algorithms[0]');
    expect(problems('identity: { issuers: [{ preset: okta, issuer: "https://acme.okta.com", audience: a }] }')).toContain('a custom authorization server issuer');
    expect(problems('identity: { issuers: [{ preset: github-actions, audience: a }] }')).toContain('repositories');
    expect(problems('identity: { issuers: [{ preset: github-actions, repositories: [{ id: 1 }] }] }')).toContain('audience');
    expect(problems('identity: { issuers: [{ issuer: "https://i.example", audience: a, principal: { kind: agent } }, { issuer: "https://i.example", audience: b, principal: { kind: human } }] }')).toContain('configured twice');
    expect(parseConfig('identity: { issuers: [{ issuer: "http://127.0.0.1:9000/idp", audience: a, principal: { kind: agent } }] }', 'x.yaml', {}).identity.issuers).toHaveLength(1);
  });

  it('refuses GitHub Actions’ issuer in the generic form: every repository on GitHub gets its tokens, for any audience it asks', () => {
    for (const issuer of ['https://token.actions.githubusercontent.com', 'https://token.actions.githubusercontent.com/', 'https://TOKEN.actions.githubusercontent.com']) {
      for (const kind of ['agent', 'human']) {
        const text = `identity: { issuers: [{ issuer: "${issuer}", audience: countersign, principal: { kind: ${kind}, id: repository } }] }`;
        expect(problems(text), issuer).toContain('identity.issuers[0].issuer: GitHub Actions mints tokens of this issuer for every repository on GitHub');
        expect(problems(text.replace('[{ issuer', '[{ preset: generic, issuer')), issuer).toContain('preset: github-actions');
      }
    }
    // GitHub Enterprise Server's issuer serves every repository of the enterprise alike.
    expect(problems('identity: { issuers: [{ issuer: "https://github.acme.example/_services/token", audience: cs, principal: { kind: agent } }] }')).toContain('preset: github-actions');
    expect(parseConfig('identity: { issuers: [{ preset: github-actions, audience: cs, repositories: [{ id: 1 }] }] }', 'x.yaml', {}).identity.issuers).toHaveLength(1);
    expect(parseConfig('identity: { issuers: [{ preset: github-actions, issuer: "https://github.acme.example/_services/token", audience: cs, repositories: [{ id: 1 }] }] }', 'x.yaml', {}).identity.issuers).toHaveLength(1);
  });

  it('refuses Google’s issuer without clients: any Google Cloud service account mints its ID tokens for any audience', () => {
    for (const issuer of ['https://accounts.google.com', 'https://accounts.google.com/', 'https://ACCOUNTS.google.com']) {
      for (const kind of ['agent', 'human']) {
        const text = `identity: { issuers: [{ issuer: "${issuer}", audience: countersign, principal: { kind: ${kind}, id: sub } }] }`;
        expect(problems(text), issuer).toContain('identity.issuers[0].clients: any Google Cloud service account');
      }
    }
    // Its applications listed (a service account's unique id, an OAuth client's id: the token's azp), it is taken.
    const listed = 'identity: { issuers: [{ issuer: "https://accounts.google.com", audience: countersign, clients: ["1234567890"], principal: { kind: agent, id: sub } }] }';
    expect(parseConfig(listed, 'x.yaml', {}).identity.issuers).toHaveLength(1);
  });

  it('takes a Teams channel and rules that name its conversations, and refuses a name it does not have', () => {
    const teams = `channels:
  teams:
    appId: 11111111-2222-3333-4444-555555555555
    appPassword: secret
    tenantId: 66666666-7777-8888-9999-000000000000
    conversation: { serviceUrl: "https://smba.trafficmanager.net/emea/", id: "19:a@thread.tacv2" }
    conversations: { db-approvals: { serviceUrl: "https://smba.trafficmanager.net/emea/", id: "19:b@thread.tacv2" } }
`;
    const rule = (name: string) => `policy: { rules: [{ id: r, when: "true", effect: approve, notify: [{ teams: ${name} }, { slack: "#x" }] }] }\n`;
    const c = parseConfig(teams + rule('db-approvals'), 'f', {});
    expect(c.channels.teams?.conversations['db-approvals']?.id).toBe('19:b@thread.tacv2');
    expect(c.policy.rules[0]?.notify).toEqual([{ teams: 'db-approvals' }, { slack: '#x' }]);
    expect(problems(teams + rule('db-aprovals'))).toContain('policy.rules[0].notify[0].teams: a conversation named under channels.teams.conversations (known: db-approvals)');
    expect(problems(rule('db-approvals'))).toContain('channels.teams is not configured');
  });

  it('accepts the example config shipped in examples/', () => {
    const c = loadConfig('examples/countersign.yaml', { BILLING_TOKEN: 't', ORDERS_DB_URL: 'postgres://u@127.0.0.1/db' });
    expect(c.connections.map((x) => x.kind)).toEqual(['http', 'exec', 'postgres', 'mcp']);
    expect(c.policy.rules.length).toBeGreaterThan(3);
  });
});
