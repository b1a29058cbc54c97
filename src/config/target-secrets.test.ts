import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.ts';

const config = (connections: string, env: Record<string, string>) =>
  parseConfig(`principals: []\nconnections:\n${connections}\npolicy: { default: deny }\n`, 'test.yaml', env);

describe('the secrets the environment puts into a connection’s args and url', () => {
  it('are the values themselves in args, the credential-bearing parts of a URL, and nothing written in the file', () => {
    const c = config(
      `  - name: db
    kind: mcp
    command: server-postgres
    args: ["\${DATABASE_URL}", --api-key, "\${API_KEY}", "--host=\${HOST:-localhost}", plain]
  - name: hook
    kind: http
    url: "https://hooks.example.com/services/T0/\${HOOK}"
  - name: whole
    kind: mcp
    url: "\${WHOLE_URL}"
  - name: by-host
    kind: http
    url: "https://\${API_HOST}:8443/api"`,
      {
        DATABASE_URL: 'postgres://svc:pw-Vn3xL8q@db.internal:5432/app',
        API_KEY: 'key-4Hd8s9Q2wE6r',
        HOOK: 'hk8Qz2Lx9Vb4Wn7R',
        WHOLE_URL: 'https://mcp.example.com/services/T0B0/XXXXXXXXXXXXXXXXXXXX?sig=abc123def456&v=2',
        API_HOST: 'billing.internal',
      },
    );
    expect(c.connectionSecrets).toEqual({
      db: ['pw-Vn3xL8q', 'key-4Hd8s9Q2wE6r'],
      hook: ['hk8Qz2Lx9Vb4Wn7R'],
      // Not `services` nor `T0B0`: words of the path stay readable; the host too.
      whole: ['abc123def456', '2', 'XXXXXXXXXXXXXXXXXXXX'],
    });
  });

  it('count percent-encoded, as a password or token with `@`, `/` or `+` must be written in a URL: both as written and decoded', () => {
    const c = config(
      `  - name: db
    kind: mcp
    command: server-postgres
    args: ["\${DATABASE_URL}", "postgres://svc:\${PW}@db/app", "https://h.example.com/x?token=\${TOK}", "https://h.example.com/hooks/\${SEG}"]`,
      { DATABASE_URL: 'postgres://svc:p%40ss-Vn3xL8q@db.internal:5432/app', PW: 'q%2Fw-Zk9Lm2', TOK: 'ab%2Bcd%3Def12', SEG: 'Zq%2F8Lx9Vb4Wn7R0Tk' },
    );
    const secrets = c.connectionSecrets?.['db'] ?? [];
    for (const s of ['p%40ss-Vn3xL8q', 'p@ss-Vn3xL8q', 'q%2Fw-Zk9Lm2', 'q/w-Zk9Lm2', 'ab%2Bcd%3Def12', 'ab+cd=ef12', 'Zq%2F8Lx9Vb4Wn7R0Tk', 'Zq/8Lx9Vb4Wn7R0Tk']) expect(secrets, s).toContain(s);
  });

  it('count what the environment put inside a header on its own, whatever its shape; not in a header that describes content', () => {
    const c = config(
      `  - name: api
    kind: http
    url: https://api.example.com
    headers: { Cookie: "sid=\${SID}; theme=dark", Accept: "application/\${FORMAT}" }
  - name: tools
    kind: mcp
    url: https://mcp.example.com/mcp
    headers: { X-Account: "acct \${ACCOUNT}" }`,
      { SID: 'wordlikesession', FORMAT: 'vnd.example+json', ACCOUNT: '123456789' },
    );
    expect(c.connectionSecrets).toEqual({ api: ['wordlikesession'], tools: ['123456789'] });
  });

  it('are absent when no connection takes anything from the environment', () => {
    expect(config(`  - name: api\n    kind: http\n    url: https://api.example.com`, {}).connectionSecrets).toBeUndefined();
  });
});
