/**
 * The canary sweep before a gateway serves: a configuration refused by
 * `countersign config check` (a secret in the value it refuses, a literal one
 * on a line the YAML parser stops at), and a gateway that fails to start (its
 * store unreachable or refusing the password, its TLS key unreadable). What
 * the operator sees (the CLI's output, the error thrown, the debug log) names
 * the place and the problem, never the secret.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { startGateway } from '../../src/main.ts';
import { canary, canaryValue, findLeaks } from '../support/canaries.ts';
import { startFakePostgres, type FakePostgres } from '../support/fake-postgres-auth.ts';

const ENV = { BAD_VALUE: canaryValue('BdVl'), STORE_PASSWORD: canaryValue('StPw'), TLS_KEY: `-----BEGIN PRIVATE KEY-----\n${canaryValue('TlKy')}\n-----END PRIVATE KEY-----` };
const LITERAL = canaryValue('LtSc');
const CANARIES = [...Object.entries(ENV).map(([k, v]) => canary(k, v, v.replace(/^-----BEGIN PRIVATE KEY-----\n/, ''))), canary('literal in the file', LITERAL)];

let dir: string;
let fakePg: FakePostgres;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-canary-config-'));
  fakePg = await startFakePostgres({ auth: 'scram', password: 'the-right-password-0' });
});

afterAll(async () => {
  await fakePg?.close();
  rmSync(dir, { recursive: true, force: true });
});

function configCheck(name: string, yaml: string): Promise<{ code: number; out: string }> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [resolve('bin/countersign.js'), 'config', 'check', '--config', file], { cwd: dir, env: { ...process.env, ...ENV } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (out += d));
    p.once('error', fail);
    p.on('close', (code) => done({ code: code ?? -1, out }));
  });
}

const BROKEN: Record<string, { yaml: string; says: RegExp }> = {
  'a slack token of the wrong shape': { yaml: `channels:\n  slack: { botToken: "\${BAD_VALUE}", signingSecret: "\${BAD_VALUE}", channel: C1, teamId: T1, appId: A1 }\n`, says: /channels\.slack\.botToken/ },
  'a webhook secret of the wrong shape': { yaml: `channels:\n  webhooks: [{ name: a, url: "http://127.0.0.1:9", secret: "\${BAD_VALUE}" }]\n`, says: /webhooks\[0\]\.secret/ },
  'a password in an http url': { yaml: `connections:\n  - { name: a, kind: http, url: "http://svc:\${BAD_VALUE}@127.0.0.1:9/" }\n`, says: /connections\[0\]\.url/ },
  'a misspelt key over a credential': { yaml: `connections:\n  - { name: a, kind: http, url: "http://127.0.0.1:9", headrs: { authorization: "Bearer \${BAD_VALUE}" } }\n`, says: /headrs/ },
  'a password in a webhook url': { yaml: `channels:\n  webhooks: [{ name: a, url: "http://hook:\${BAD_VALUE}@127.0.0.1:9/", secret: "whsec_${'A'.repeat(32)}" }]\n`, says: /webhooks\[0\]\.url/ },
  'a password in an mcp url': { yaml: `connections:\n  - { name: a, kind: mcp, url: "http://svc:\${BAD_VALUE}@127.0.0.1:9/mcp" }\n`, says: /connections\[0\]\.url/ },
  'a postgres url that is not one': { yaml: `connections:\n  - { name: a, kind: postgres, url: "\${BAD_VALUE}" }\n`, says: /connections\[0\]\.url/ },
  'a YAML error on the line of a literal secret': { yaml: `connections:\n  - name: a\n    kind: http\n    url: http://127.0.0.1:9\n    headers:\n      authorization: Bearer ${LITERAL}\n     x: [\n`, says: /line/ },
  'an unclosed quote after a literal secret': { yaml: `connections:\n  - { name: a, kind: http, url: "http://127.0.0.1:9", headers: { authorization: "Bearer ${LITERAL} }\n`, says: /invalid configuration|line/ },
};

describe('a configuration refused by config check', () => {
  for (const [what, { yaml, says }] of Object.entries(BROKEN)) {
    it(`names the place of ${what}, not the secret`, async () => {
      const r = await configCheck(what.replaceAll(' ', '-'), yaml);
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(says);
      expect(findLeaks(r.out, CANARIES)).toEqual([]);
    });
  }

  it('passes one that holds every kind of secret, and says so without them', async () => {
    const r = await configCheck(
      'good',
      `connections:\n  - { name: a, kind: http, url: "http://127.0.0.1:9", headers: { authorization: "Bearer \${BAD_VALUE}", x-literal: ${LITERAL} } }\n  - { name: db, kind: postgres, url: "postgres://svc:\${STORE_PASSWORD}@127.0.0.1:9/app" }\n`,
    );
    expect(r.out).toContain('OK');
    expect(findLeaks(r.out, CANARIES)).toEqual([]);
  });
});

describe('a gateway that fails to start', () => {
  const starts: Record<string, () => string> = {
    'its store unreachable': () => `store: { postgres: { url: "postgres://svc:\${STORE_PASSWORD}@127.0.0.1:1/db", connectTimeout: 1 } }\n`,
    'its store URL one that does not parse (a port out of range)': () => `store: { postgres: { url: "postgres://svc:\${STORE_PASSWORD}@127.0.0.1:99999/db", connectTimeout: 1 } }\n`,
    'its store URL with a secret a URL must encode, written as it is': () => `store: { postgres: { url: "postgres://svc:\${STORE_PASSWORD}/#x@127.0.0.1:9/db", connectTimeout: 1 } }\n`,
    'its store refusing the password': () => `store: { postgres: { url: "postgres://svc:\${STORE_PASSWORD}@127.0.0.1:${fakePg.port}/db", connectTimeout: 2 } }\n`,
    'its TLS key unreadable': () =>
      `server: { port: 0, postgres: { port: 0, tls: { cert: "\${TLS_KEY}", key: "\${TLS_KEY}" } } }\nstore: { sqlite: { path: ${JSON.stringify(join(dir, 'tls.db'))} } }\naudit: { keyDir: ${JSON.stringify(join(dir, 'keys'))} }\n`,
  };
  for (const [what, yaml] of Object.entries(starts)) {
    it(`with ${what} says why without the secret`, async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
      const err = await startGateway(parseConfig(yaml(), 'countersign.yaml', { ...process.env, ...ENV }), { logger }).then(
        async (gw) => {
          await gw.close();
          return undefined;
        },
        (e: unknown) => e as Error & { cause?: unknown },
      );
      expect(err, 'the gateway started').toBeInstanceOf(Error);
      const seen = `${err!.message}\n${err!.stack}\n${JSON.stringify(err)}\n${String(err!.cause)}\n${lines.join('')}`;
      expect(findLeaks(seen, CANARIES)).toEqual([]);
      if (what.includes('password')) expect(fakePg.startups.length).toBeGreaterThan(0);
    }, 30_000);
  }
});
