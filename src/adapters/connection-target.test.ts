import { describe, expect, it } from 'vitest';
import { connectionSchema } from '../config/connection-schema.ts';
import { connectionTarget } from './connection-target.ts';

const target = (c: Record<string, unknown>) => connectionTarget(connectionSchema.parse({ name: 'db', ...c }));

describe('connectionTarget', () => {
  it('moves with the host, port, database, user or a host= parameter of a postgres URL, never with its password', () => {
    const base = target({ kind: 'postgres', url: 'postgres://app:s3cret@db-staging:5432/orders' });
    expect(target({ kind: 'postgres', url: 'postgres://app:other@db-staging:5432/orders' })).toBe(base);
    expect(target({ kind: 'postgres', url: 'postgres://app:s3cret@db-staging:5432/orders?password=x' })).toBe(base);
    for (const url of ['postgres://app:s3cret@db-prod:5432/orders', 'postgres://app:s3cret@db-staging:5433/orders', 'postgres://app:s3cret@db-staging:5432/billing', 'postgres://admin:s3cret@db-staging:5432/orders', 'postgres://app:s3cret@db-staging:5432/orders?host=db-prod']) {
      expect(target({ kind: 'postgres', url }), url).not.toBe(base);
    }
    expect(base).not.toContain('s3cret');
  });

  it('leaves out a password with @ in it whole, as pg reads it (up to the last @ before the host)', () => {
    const base = target({ kind: 'postgres', url: 'postgres://app:p@ss@db-staging:5432/orders' });
    expect(target({ kind: 'postgres', url: 'postgres://app:other@db-staging:5432/orders' })).toBe(base);
    expect(target({ kind: 'postgres', url: 'postgres://app:p@ss@db-prod:5432/orders' })).not.toBe(base);
  });

  it('moves with an http URL or an exec binary, not with credentials in headers', () => {
    const http = target({ kind: 'http', url: 'https://staging.example.com/api', headers: { authorization: 'Bearer a' } });
    expect(target({ kind: 'http', url: 'https://staging.example.com/api', headers: { authorization: 'Bearer b' } })).toBe(http);
    expect(target({ kind: 'http', url: 'https://prod.example.com/api' })).not.toBe(http);
    const exec = target({ kind: 'exec', command: '/usr/bin/kubectl' });
    expect(target({ kind: 'exec', command: '/usr/bin/kubectl', cwd: '/srv/prod' })).not.toBe(exec);
    expect(target({ kind: 'exec', command: '/usr/local/bin/kubectl' })).not.toBe(exec);
  });

  it('moves with a command\'s environment where it points the command (exec, stdio mcp), never with a credential in it', () => {
    for (const kind of ['exec', 'mcp']) {
      const base = target({ kind, command: '/usr/bin/kubectl', env: { KUBECONFIG: '/etc/kube/staging.yaml', KUBE_TOKEN: 'a', DATABASE_URL: 'mongodb+srv://app:pw1@db-staging/x' } });
      expect(target({ kind, command: '/usr/bin/kubectl', env: { KUBECONFIG: '/etc/kube/prod.yaml', KUBE_TOKEN: 'a', DATABASE_URL: 'mongodb+srv://app:pw1@db-staging/x' } }), kind).not.toBe(base);
      expect(target({ kind, command: '/usr/bin/kubectl', env: { KUBECONFIG: '/etc/kube/staging.yaml', KUBE_TOKEN: 'a', DATABASE_URL: 'mongodb+srv://app:pw1@db-prod/x' } }), kind).not.toBe(base);
      // A credential changes nothing: a rotated token or password is the same target.
      expect(target({ kind, command: '/usr/bin/kubectl', env: { KUBECONFIG: '/etc/kube/staging.yaml', KUBE_TOKEN: 'b', DATABASE_URL: 'mongodb+srv://app:pw2@db-staging/x' } }), kind).toBe(base);
      // A variable added that points it: another target; one without an environment keeps its fingerprint.
      expect(target({ kind, command: '/usr/bin/kubectl', env: { AWS_PROFILE: 'prod' } })).not.toBe(target({ kind, command: '/usr/bin/kubectl' }));
      expect(target({ kind, command: '/usr/bin/kubectl', env: { GITHUB_TOKEN: 'x' } })).toBe(target({ kind, command: '/usr/bin/kubectl' }));
      expect(target({ kind, command: '/usr/bin/kubectl', env: { DB_PASS: 'x', OPENAI_KEY: 'y' } })).toBe(target({ kind, command: '/usr/bin/kubectl' }));
    }
    // As the file writes it: a ${VAR} stays as written, whatever each process's environment puts in.
    const c = (v: string) => connectionSchema.parse({ name: 'k', kind: 'exec', command: '/usr/bin/kubectl', env: { KUBECONFIG: v } });
    expect(connectionTarget(c('/a'), { command: '/usr/bin/kubectl', env: { KUBECONFIG: '${KCFG}' } })).toBe(connectionTarget(c('/b'), { command: '/usr/bin/kubectl', env: { KUBECONFIG: '${KCFG}' } }));
    expect(connectionTarget(c('/a'), { command: '/usr/bin/kubectl', env: { KUBECONFIG: '/etc/kube/prod.yaml' } })).not.toBe(connectionTarget(c('/a'), { command: '/usr/bin/kubectl', env: { KUBECONFIG: '${KCFG}' } }));
  });

  it('moves with a stdio MCP server\'s arguments and working directory, not with its environment', () => {
    const mcp = target({ kind: 'mcp', command: 'npx', args: ['db-server', '--db', 'staging'], env: { TOKEN: 'a' } });
    expect(target({ kind: 'mcp', command: 'npx', args: ['db-server', '--db', 'staging'], env: { TOKEN: 'b' } })).toBe(mcp);
    expect(target({ kind: 'mcp', command: 'npx', args: ['db-server', '--db', 'prod'] })).not.toBe(mcp);
    expect(target({ kind: 'mcp', command: 'npx', args: ['db-server', '--db', 'staging'], cwd: '/srv/prod' })).not.toBe(mcp);
    expect(connectionTarget(connectionSchema.parse({ name: 'db', kind: 'mcp', command: 'npx', args: ['s', '--token', 'x1'] }), { command: 'npx', args: ['s', '--token', '${T}'] })).toBe(
      connectionTarget(connectionSchema.parse({ name: 'db', kind: 'mcp', command: 'npx', args: ['s', '--token', 'x2'] }), { command: 'npx', args: ['s', '--token', '${T}'] }),
    );
  });
});

describe('connectionTarget of credentials written in the file', () => {
  it('does not move with a key written in an MCP URL\'s query, an http URL\'s path or an MCP server\'s arguments: a rotated key is the same target, and the fingerprint tests no guess of one', () => {
    const pairs: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ kind: 'mcp', url: 'https://mcp.example.com/mcp?api_key=k1-Zq8Lx2Vb&region=eu' }, { kind: 'mcp', url: 'https://mcp.example.com/mcp?api_key=k2-Wn4Rt7Hc&region=eu' }],
      [{ kind: 'http', url: 'https://hooks.example.com/services/T0/Xk9fQ2mZ7pL4sR8vW1nB' }, { kind: 'http', url: 'https://hooks.example.com/services/T0/Yq3hT8kLz2Vn5Rx7Pc4J' }],
      [{ kind: 'mcp', command: 'npx', args: ['s', '--token', 'tok-1Aa9'] }, { kind: 'mcp', command: 'npx', args: ['s', '--token', 'tok-2Bb8'] }],
      [{ kind: 'mcp', command: 'npx', args: ['mcp-remote', 'https://r.example.com', '--header', 'Authorization: Bearer b1-Qw8Zx3'] }, { kind: 'mcp', command: 'npx', args: ['mcp-remote', 'https://r.example.com', '--header', 'Authorization: Bearer b2-Lp5Vn7'] }],
      [{ kind: 'mcp', command: 'docker', args: ['run', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN=ghp_1Xa', 'img'] }, { kind: 'mcp', command: 'docker', args: ['run', '-e', 'GITHUB_PERSONAL_ACCESS_TOKEN=ghp_2Yb', 'img'] }],
    ];
    for (const [a, b] of pairs) expect(target(a), JSON.stringify(a)).toBe(target(b));
    // What points the connection still moves it.
    expect(target({ kind: 'mcp', url: 'https://mcp.example.com/mcp?api_key=k1-Zq8Lx2Vb&region=us' })).not.toBe(target(pairs[0]![0]));
    expect(target({ kind: 'mcp', command: 'npx', args: ['mcp-remote', 'https://other.example.com', '--header', 'Authorization: Bearer b1-Qw8Zx3'] })).not.toBe(target(pairs[3]![0]));
  });
});

describe('connectionTarget of a credential that also points the server', () => {
  it('moves with the host of a URL written as a secret-named flag\'s or setting\'s value, and only the argument a credential is in loses it', () => {
    const mcp = (...args: string[]) => target({ kind: 'mcp', command: 'npx', args });
    // A DSN or webhook URL is named like a credential, and is also where the server goes: re-pointed, another target.
    expect(mcp('server-postgres', '--dsn', 'postgresql://ro@staging-db/app')).not.toBe(mcp('server-postgres', '--dsn', 'postgresql://ro@prod-db/app'));
    expect(mcp('server-postgres', '--dsn=postgresql://ro:pw@staging-db/app')).not.toBe(mcp('server-postgres', '--dsn=postgresql://ro:pw@prod-db/app'));
    expect(mcp('run', '-e', 'SENTRY_DSN=https://k1@o1.ingest.sentry.io/1', 'img')).not.toBe(mcp('run', '-e', 'SENTRY_DSN=https://k1@o2.ingest.sentry.io/2', 'img'));
    expect(mcp('s', '--webhook', 'https://hooks.example.com/services/T1/B1/x')).not.toBe(mcp('s', '--webhook', 'https://hooks.example.com/services/T9/B9/x'));
    // So does an environment variable named like a credential whose value is a URL (a DSN, a webhook's).
    for (const kind of ['exec', 'mcp']) {
      const env = (DATABASE_DSN: string) => target({ kind, command: '/usr/bin/tool', env: { DATABASE_DSN } });
      expect(env('postgresql://ro:pw1@db-staging/app'), kind).not.toBe(env('postgresql://ro:pw1@db-prod/app'));
      expect(env('postgresql://ro:pw1@db-staging/app'), kind).toBe(env('postgresql://ro:pw2@db-staging/app'));
    }
    // A URL's key is left out where it is written, not wherever its text recurs (a host, a path).
    expect(target({ kind: 'mcp', url: 'https://api1.example.com/v1?code=1' })).not.toBe(target({ kind: 'mcp', url: 'https://api2.example.com/v2?code=2' }));
    expect(target({ kind: 'mcp', url: 'https://staging.example.com/mcp?key=staging' })).not.toBe(target({ kind: 'mcp', url: 'https://prod.example.com/mcp?key=prod' }));
    expect(target({ kind: 'mcp', url: 'https://m.example.com/mcp?key=k1-Zq8L%2fx' })).toBe(target({ kind: 'mcp', url: 'https://m.example.com/mcp?key=k2-Wn4R%2Fy' }));
    // Another argument that happens to spell the same text is not the credential.
    expect(mcp('s', '--auth-token', 'staging', '--db', 'staging')).not.toBe(mcp('s', '--auth-token', 'prod', '--db', 'prod'));
    // The credential in it still moves nothing: rotated, it is the same target.
    expect(mcp('server-postgres', '--dsn=postgresql://ro:pw1@staging-db/app')).toBe(mcp('server-postgres', '--dsn=postgresql://ro:pw2@staging-db/app'));
    expect(mcp('run', '-e', 'SENTRY_DSN=https://k1@o1.ingest.sentry.io/1', 'img')).toBe(mcp('run', '-e', 'SENTRY_DSN=https://k2@o1.ingest.sentry.io/1', 'img'));
    expect(mcp('s', '--webhook', 'https://hooks.example.com/services/T1/Xk9fQ2mZ7pL4sR8vW1nB')).toBe(mcp('s', '--webhook', 'https://hooks.example.com/services/T1/Yq3hT8kLz2Vn5Rx7Pc4J'));
  });
});

describe('connectionTarget as the file writes it', () => {
  const c = connectionSchema.parse({ name: 'db', kind: 'postgres', url: 'postgres://app:pw@db-a:5432/orders' });
  it('keeps a ${VAR} as written: replicas whose environments put in another host or password share one target', () => {
    const written = { url: 'postgres://app:${DB_PASSWORD}@${DB_HOST}:5432/orders' };
    const other = connectionSchema.parse({ name: 'db', kind: 'postgres', url: 'postgres://app:other@db-b:5432/orders' });
    expect(connectionTarget(c, written)).toBe(connectionTarget(other, written));
    expect(connectionTarget(c, { url: 'postgres://app:${DB_PASSWORD}@db-prod:5432/orders' })).not.toBe(connectionTarget(c, written));
    expect(connectionTarget(c, { url: 'postgres://app:literal@db-a:5432/orders' })).toBe(connectionTarget(c, { url: 'postgres://app:${PW}@db-a:5432/orders' }));
  });
});
