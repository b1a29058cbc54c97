import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.ts';
import { argCredentials, environmentSecrets, heldSecrets } from './held-secrets.ts';
import { createSecretScrubber } from '../core/scrub.ts';
import { secretParts } from '../core/secret-parts.ts';

describe('the secrets the gateway holds', () => {
  it('takes every ${VAR} value, connection credentials written in the file, secret-named keys and URL passwords, and not the names of masked columns', () => {
    const config = parseConfig(
      `connections:
  - name: api
    kind: http
    url: http://127.0.0.1:9
    headers: { x-api-key: literal-key-123456 }
  - name: tool
    kind: exec
    command: /bin/true
    env: { TOKEN: "\${TOOL_TOKEN}" }
  - name: db
    kind: postgres
    url: postgres://svc:pw-in-url-99@127.0.0.1:5432/app
    secretColumns: [password]
    tags: { env: "\${ENV_NAME}" }
metrics: { token: metrics-token-0123456789 }
log: { level: "\${LOG_LEVEL}" }
policy: { default: deny }
`,
      'test.yaml',
      { TOOL_TOKEN: 'tool-token-abcdef', STRIPE_API_KEY: 'sk_live_stray', HOME: '/root', ENV_NAME: 'production', LOG_LEVEL: 'warn' },
    );
    const held = heldSecrets(config);
    for (const s of ['literal-key-123456', 'tool-token-abcdef', 'pw-in-url-99', 'metrics-token-0123456789', 'sk_live_stray']) expect(held, s).toContain(s);
    expect(held).not.toContain('password');
    expect(held).not.toContain('/root');
    expect(held).not.toContain('production');
  });

  it("leaves out what other connections' headers and env say of content and locale, so commands' output stays readable; their credentials stay in", () => {
    const config = parseConfig(
      `connections:
  - name: gh
    kind: http
    url: https://api.github.com
    headers: { Authorization: "Bearer ghp_literal123456", Accept: application/vnd.github+json, X-GitHub-Api-Version: "2022-11-28", User-Agent: "\${UA}", X-Auth-Key: cf-key-abcdef123 }
  - name: files
    kind: mcp
    command: /usr/bin/mcp-files
    env: { NODE_ENV: production, LANG: en_US.UTF-8, SERVICE_KEY: svc-key-0123456 }
policy: { default: deny }
`,
      'test.yaml',
      { UA: 'countersign-bot' },
    );
    const scrubber = createSecretScrubber(secretParts(heldSecrets(config)));
    const output = '{"mimeType":"application/json","build":"production","date":"2022-11-28","agent":"countersign-bot","locale":"en_US.UTF-8"}';
    expect(scrubber.scrub(output).text).toBe(output);
    for (const s of ['ghp_literal123456', 'cf-key-abcdef123', 'svc-key-0123456']) expect(scrubber.scrub(`got ${s}`).text, s).not.toContain(s);
  });

  it('takes a credential written in a URL\'s query (an MCP endpoint keyed by ?api_key=), not the other parameters', () => {
    const config = parseConfig(
      `connections:
  - { name: tools, kind: mcp, url: "https://mcp.example.com/mcp?token=tok-literal-123456&region=eu-west-1&api_key=k%2Fliteral-7890" }
  - { name: more, kind: mcp, url: "https://mcp.example.com/mcp?key=plain-key-abcdef&sig=sig-value-fedcba&profile=default" }
policy: { default: deny }
`,
      'test.yaml',
      {},
    );
    const held = heldSecrets(config);
    for (const s of ['tok-literal-123456', 'k/literal-7890', 'plain-key-abcdef', 'sig-value-fedcba']) expect(held, s).toContain(s);
    for (const s of ['eu-west-1', 'default']) expect(held, s).not.toContain(s);
  });

  it('takes credentials written on a command line after a flag named like one, not the other arguments', () => {
    const config = parseConfig(
      `connections:
  - { name: files, kind: mcp, command: /usr/bin/mcp-x, args: [--api-key, literal-key-555555, "--token=tok-literal-666666", -p, literal-pw-777777, --password, "", --region, eu-west-1, --verbose] }
policy: { default: deny }
`,
      'test.yaml',
      {},
    );
    const held = heldSecrets(config);
    for (const s of ['literal-key-555555', 'tok-literal-666666']) expect(held, s).toContain(s);
    for (const s of ['eu-west-1', '--verbose', '--region', '--api-key']) expect(held, s).not.toContain(s);
  });

  it('takes the path segments of a connection URL that look like a key, not names, hex ids or UUIDs', () => {
    const config = parseConfig(
      `connections:
  - { name: zap, kind: mcp, url: "https://actions.example.com/mcp/sk-ak-Xk9fQ2mZ7pL4sR8v/sse" }
  - { name: hook, kind: http, url: "https://hooks.example.com/services/T0123ABCD/B0123ABCD/Wq3hT8kLz2Vn5Rx7Pc4Jm9Ds" }
  - { name: api, kind: http, url: "https://api.example.com/v1/projects/3f2a9c1e-7b4d-4e8f-9a6b-2c5d8e1f0a3b/datasets-2024-archive" }
policy: { default: deny }
`,
      'test.yaml',
      {},
    );
    const held = heldSecrets(config);
    for (const s of ['sk-ak-Xk9fQ2mZ7pL4sR8v', 'Wq3hT8kLz2Vn5Rx7Pc4Jm9Ds']) expect(held, s).toContain(s);
    for (const s of ['T0123ABCD', '3f2a9c1e-7b4d-4e8f-9a6b-2c5d8e1f0a3b', 'datasets-2024-archive', 'services', 'projects']) expect(held, s).not.toContain(s);
  });

  it('takes a private key written in the file as PEM text (the wire listener\'s TLS key), under whatever key: its body, whole and line by line', () => {
    const lines = ['MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLitKeyLine1Abcd', 'LitKeyLine2EfghIjklMnopQrstUvwxYz0123456789abcdefghijklmnopqrstu', 'LitKeyLine3'];
    const pem = ['-----BEGIN PRIVATE KEY-----', ...lines, '-----END PRIVATE KEY-----', ''].join('\n');
    const config = parseConfig(
      `server:
  port: 0
  postgres:
    port: 0
    tls:
      cert: "-----BEGIN CERTIFICATE-----\\nMIIBpublic\\n-----END CERTIFICATE-----\\n"
      key: |
${pem.split('\n').map((l) => `        ${l}`).join('\n')}
policy: { default: deny }
`,
      'test.yaml',
      {},
    );
    const held = heldSecrets(config);
    for (const s of [lines.join(''), ...lines]) expect(held, s).toContain(s);
    expect(held.some((s) => s.includes('MIIBpublic'))).toBe(false);
    // The file as an exec `cat` prints it, indented as YAML writes a block: nothing of the key is left.
    const file = `key: |\n${pem.split('\n').map((l) => `        ${l}`).join('\n')}`;
    const out = createSecretScrubber(secretParts(held)).scrub(file).text;
    for (const l of lines) expect(out).not.toContain(l);
  });

  it('takes every header value written for the trace exporter but the plain ones, and a key in a webhook URL\'s path', () => {
    const config = parseConfig(
      `tracing:
  enabled: true
  otlp:
    url: https://api.honeycomb.io/v1/traces
    headers: { x-honeycomb-team: hcLitKey7Qz2Lx9, content-type: application/x-protobuf }
channels:
  webhooks:
    - name: ops
      url: https://hooks.example.com/services/T0/Xk9fQ2mZ7pL4sR8vW1nB
      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
policy: { default: deny }
`,
      'test.yaml',
      {},
    );
    const held = heldSecrets(config);
    for (const s of ['hcLitKey7Qz2Lx9', 'Xk9fQ2mZ7pL4sR8vW1nB']) expect(held, s).toContain(s);
    expect(held).not.toContain('application/x-protobuf');
  });

  it('reads the environment by its names, and URL credentials in any value', () => {
    expect(environmentSecrets({ GITHUB_TOKEN: 'ghp_x', DATABASE_URL: 'postgres://u:p%40ss@h/db', LANG: 'C.UTF-8' })).toEqual(['ghp_x', 'p%40ss', 'p@ss']);
  });

  it('reads the other usual spellings of a credential by the last whole word of the name, and not words that merely begin alike', () => {
    const env = { DB_PASS: 'p1', SMTP_PASSPHRASE: 'p2', OPENAI_KEY: 'p3', GITHUB_PAT: 'p4', PROXY_AUTH: 'p5', JWT_HMAC: 'p6', 'api-keys': 'p7' };
    expect(environmentSecrets(env)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
    expect(environmentSecrets({ TOX_TESTENV_PASSENV: 'x', KEYBOARD: 'us', PATH: '/bin', AUTHOR: 'me', SSH_AUTH_SOCK: '/tmp/ssh-x/agent.1' })).toEqual([]);
    // Words that describe a credential rather than hold one: not the last word.
    expect(environmentSecrets({ AWS_KMS_KEY_ID: 'arn:aws:kms:eu:1:key/x', AUTH_URL: 'https://auth.example.com', JWT_ISSUER: 'https://id.example.com' })).toEqual([]);
  });

  it('reads credentials on a command line: a secret-named flag, a header line, a NAME=value setting named like one', () => {
    const args = ['--api-key', 'k-1', '--header', 'Authorization: Bearer tok_1', '--header=X-Api-Key: xk-2', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN=ghp_3', '-e', 'DB_PASS=pw-4', '-e', 'LOG_LEVEL=debug', 'Accept: application/json', 'mcp-remote'];
    expect(new Set(argCredentials(args))).toEqual(new Set(['k-1', 'Bearer tok_1', 'xk-2', 'ghp_3', 'pw-4']));
    // A libpq connection string, the password bare or quoted with escapes.
    expect(new Set(argCredentials(['host=db user=svc password=pw-5Lq dbname=app', "--conn=host=db password='p w\\'6' sslmode=require"]))).toEqual(new Set(['pw-5Lq', "p w'6"]));
  });

  it('holds a value that reads as a credential whatever its name, and not the words, paths, flags and addresses beside it', () => {
    const env = { DB_PASS_PROD: 'Qe7Ry2Ut5Ix', STRIPE_SK: 'sk_live_Op4As9Df2Gh7', MIXED: 'AbCdEfGhIjKlMn', PG_CONN: 'host=db password=Cn6Wq1Er4Ty9', JDBC_URL: 'jdbc:postgresql://db/app?password=Jd2Fk7Gl0Hm3' };
    expect(environmentSecrets(env)).toEqual(['Qe7Ry2Ut5Ix', 'sk_live_Op4As9Df2Gh7', 'AbCdEfGhIjKlMn', 'Cn6Wq1Er4Ty9', 'Jd2Fk7Gl0Hm3', 'Jd2Fk7Gl0Hm3']);
    const plain = { APP_ENV: 'production-eu1', NODE_OPTIONS: '--max-old-space-size=4096', KUBERNETES_PORT: 'tcp://10.96.0.1:443', NODE_VERSION: '20.11.1', HOSTNAME: 'gw-7d9f8b6c5-x2k4q', CACHE_DIR: '/var/cache/cs2024', REGION: 'eu-west-1' };
    expect(environmentSecrets(plain)).toEqual([]);
  });

  it('holds a user:password pair and a base64(url) key that begins with / or -, and not flags, paths or addresses so shaped', () => {
    const env = { ELASTIC_LOGIN: 'elastic:Xk9fQ2mZ7pL4', SESSION_SEED: '/8Kx9Lq2Wm4Np7Rt+Qa1=', HOOK_SEED: '-Kx9Lq2Wm4Np7Rt3Yb6' };
    expect(environmentSecrets(env)).toEqual(['elastic:Xk9fQ2mZ7pL4', '/8Kx9Lq2Wm4Np7Rt+Qa1=', '-Kx9Lq2Wm4Np7Rt3Yb6']);
    const plain = { JAVA_OPTS: '-Xmx4096m', LISTEN: '0.0.0.0:8080', UPSTREAM: 'api.example.com:443', DATA_DIR: '/srv/data/app2024/v12', MODE: 'ro:z' };
    expect(environmentSecrets(plain)).toEqual([]);
  });

  it("leaves out the shell's working directories, whose names read like MYSQL_PWD's", () => {
    expect(environmentSecrets({ PWD: '/srv/countersign', OLDPWD: '/srv', MYSQL_PWD: 'my-Pw4x9Q' })).toEqual(['my-Pw4x9Q']);
  });
});
