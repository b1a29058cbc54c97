import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.ts';
import { environmentSecrets, heldSecrets } from './held-secrets.ts';

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

  it('reads the environment by its names, and URL credentials in any value', () => {
    expect(environmentSecrets({ GITHUB_TOKEN: 'ghp_x', DATABASE_URL: 'postgres://u:p%40ss@h/db', LANG: 'C.UTF-8' })).toEqual(['ghp_x', 'p%40ss', 'p@ss']);
  });
});
