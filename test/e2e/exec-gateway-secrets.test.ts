/**
 * An exec connection runs as the gateway's own OS user: an allow-listed
 * reader (`cat` with free arguments) can open the gateway's
 * /proc/<pid>/environ, its configuration file and its audit key directory.
 * What it prints is scrubbed of every secret the gateway holds, not only of
 * its own connection's: other connections' credentials (from the
 * environment or written in the file), the gateway's secret-named
 * environment variables, and its key material. (Running exec connections as
 * another OS user is what keeps the files out of reach: README.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareSharedGateway, type ChildGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { readDb } from '../support/sqlite.ts';

const EXEC_TOKEN = 'exec-own-Tq8Lz3Vw9K';
const BILLING_TOKEN = 'billing-env-Zk4Mx7Qp2R';
const LITERAL_KEY = 'payroll-literal-Hn6Yt1Cs5B';
const STRAY_SECRET = 'stray-env-Wd3Fg8Jk0L';
/** Credentials under names as common as API_SECRET's, spelled the other ways deployments spell them. */
const STRAYS: Readonly<Record<string, string>> = {
  DB_PASS: 'stray-pass-Ue5Rb2Nc7X',
  SMTP_PASSPHRASE: 'stray-phrase-Lp9Qv4Ts1M',
  OPENAI_KEY: 'stray-key-Gz6Hw3Kd8Y',
  GITHUB_PAT: 'stray-pat-Mx1Cj7Vr4P',
  PROXY_AUTH: 'stray-auth-Bn8Sf2Wq5E',
  JWT_HMAC: 'stray-hmac-Te4Ya9Lo3Z',
};
/**
 * Credentials under names no list of secret words reads as one (a word after the secret's, a vendor's abbreviation), and
 * inside values: a libpq connection string and a JDBC URL. What the gateway holds is judged by the value too.
 */
const UNNAMED: Readonly<Record<string, string>> = {
  DB_PASS_PROD: 'unnamed-pass-Qe7Ry2Ut5I',
  OPENAI_KEY_2: 'sk-proj-Vb3Nm8Kj1Hg6',
  STRIPE_SK: 'sk_live_Op4As9Df2Gh7',
  MASTER_SEED: 'seed-Jk5Lz0Xc3Vb8',
  // A user:password pair (Elasticsearch, RabbitMQ, a proxy's basic auth): the colon made the whole value read as an address.
  ELASTIC_LOGIN: 'elastic:Xk9fQ2mZ7pL4',
  // Base64 and base64url keys begin with / or - one time in 32: the leading character made them read as a path or a flag.
  SESSION_SEED: '/8Kx9Lq2Wm4Np7Rt+Qa1=',
  WEBHOOK_SEED: '-Kx9Lq2Wm4Np7Rt3Yb6',
};
const IN_VALUES: Readonly<Record<string, [string, string]>> = {
  PG_CONN: ['host=db user=svc password=Cn6Wq1Er4Ty9', 'Cn6Wq1Er4Ty9'],
  JDBC_URL: ['jdbc:postgresql://db:5432/app?user=svc&password=Jd2Fk7Gl0Hm3', 'Jd2Fk7Gl0Hm3'],
};
const IN_VALUE_SECRETS = Object.values(IN_VALUES).map(([, secret]) => secret);

const BODY = `connections:
  - name: reader
    kind: exec
    command: /bin/cat
    env: { TOOL_TOKEN: "\${EXEC_TOKEN}" }
  - name: billing
    kind: http
    url: http://127.0.0.1:9
    headers: { authorization: "Bearer \${BILLING_TOKEN}" }
  - name: payroll
    kind: http
    url: http://127.0.0.1:9
    headers: { x-api-key: ${LITERAL_KEY} }
policy:
  default: allow
`;

let shared: SharedGateway;
let gw: ChildGateway;

beforeAll(async () => {
  shared = prepareSharedGateway();
  // STRAY_SECRET: in the gateway's environment under a secret's name, though the config never names it.
  const inValues = Object.fromEntries(Object.entries(IN_VALUES).map(([name, [value]]) => [name, value]));
  gw = await shared.spawn(BODY, { EXEC_TOKEN, BILLING_TOKEN, PAYMENTS_API_SECRET: STRAY_SECRET, ...STRAYS, ...UNNAMED, ...inValues, APP_ENV: 'production-eu1' });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await shared?.remove();
});

const read = (...args: string[]) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'reader', input: { args }, reason: 'read a file' } });

function stored(): string {
  return readDb(shared.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()]));
}

function expectNoSecret(text: string, secrets: readonly string[]): void {
  for (const s of secrets) expect(text, s).not.toContain(s);
}

describe('an allow-listed reader pointed at the gateway itself', () => {
  it('reads /proc/<gateway pid>/environ without any secret in the answer or the stored request and audit log', async () => {
    // The gateway's environment really holds them: the reader is what must not hand them over.
    expect(readFileSync(`/proc/${gw.pid}/environ`, 'utf8')).toContain(BILLING_TOKEN);
    const res = await read(`/proc/${gw.pid}/environ`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(JSON.stringify(res.body)).toContain('EXEC_TOKEN=');
    expectNoSecret(JSON.stringify(res.body), [EXEC_TOKEN, BILLING_TOKEN, STRAY_SECRET]);
    expectNoSecret(stored(), [EXEC_TOKEN, BILLING_TOKEN, STRAY_SECRET]);
  });

  it('nor the credentials its environment holds under other usual names (DB_PASS, OPENAI_KEY, GITHUB_PAT, …)', async () => {
    const environ = readFileSync(`/proc/${gw.pid}/environ`, 'utf8');
    for (const value of Object.values(STRAYS)) expect(environ).toContain(value);
    const res = await read(`/proc/${gw.pid}/environ`);
    expect(res.body.status).toBe('succeeded');
    // The names stay readable; their values do not.
    for (const name of Object.keys(STRAYS)) expect(JSON.stringify(res.body)).toContain(`${name}=`);
    expectNoSecret(JSON.stringify(res.body), Object.values(STRAYS));
    expectNoSecret(stored(), Object.values(STRAYS));
  });

  it('nor credentials under names no secret word marks, nor the password inside a connection string or JDBC URL', async () => {
    const environ = readFileSync(`/proc/${gw.pid}/environ`, 'utf8');
    for (const value of [...Object.values(UNNAMED), ...IN_VALUE_SECRETS]) expect(environ).toContain(value);
    const res = await read(`/proc/${gw.pid}/environ`);
    expect(res.body.status).toBe('succeeded');
    const out = JSON.stringify(res.body);
    for (const name of [...Object.keys(UNNAMED), ...Object.keys(IN_VALUES)]) expect(out).toContain(`${name}=`);
    expectNoSecret(out, [...Object.values(UNNAMED), ...IN_VALUE_SECRETS]);
    expectNoSecret(stored(), [...Object.values(UNNAMED), ...IN_VALUE_SECRETS]);
    // What only describes the deployment stays readable.
    expect(out).toContain('APP_ENV=production-eu1');
  });

  it('reads the configuration file without a credential written in it', async () => {
    const file = join(shared.dir, 'child-1.yaml');
    expect(readFileSync(file, 'utf8')).toContain(LITERAL_KEY);
    const res = await read(file);
    expect(res.body.status).toBe('succeeded');
    expect(JSON.stringify(res.body)).toContain('name: payroll');
    expectNoSecret(JSON.stringify(res.body), [LITERAL_KEY]);
    expectNoSecret(stored(), [LITERAL_KEY]);
  });

  it('reads the audit signing key without its key material', async () => {
    const pem = readFileSync(join(shared.dir, 'keys', 'current.key'), 'utf8');
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const res = await read(join(shared.dir, 'keys', 'current.key'));
    expect(res.body.status).toBe('succeeded');
    expectNoSecret(JSON.stringify(res.body), [body]);
    expectNoSecret(stored(), [body]);
  });

  it('a failing read (a missing file beside the environ) says nothing of them in its error, stderr or stored outcome', async () => {
    const res = await read(`/proc/${gw.pid}/environ`, '/nonexistent/countersign');
    expect(res.body.status).toBe('failed');
    expect(JSON.stringify(res.body)).toMatch(/No such file/);
    expectNoSecret(JSON.stringify(res.body), [EXEC_TOKEN, BILLING_TOKEN, STRAY_SECRET]);
    expectNoSecret(stored(), [EXEC_TOKEN, BILLING_TOKEN, STRAY_SECRET]);
  });

  it('runs the command with only PATH and the connection’s own env: nothing of the gateway’s environment is inherited', async () => {
    const res = await read('/proc/self/environ');
    expect(res.body.status).toBe('succeeded');
    const names = String(res.body.result.stdout).split('\u0000').filter(Boolean).map((kv) => kv.slice(0, kv.indexOf('=')));
    expect(names.sort()).toEqual(['PATH', 'TOOL_TOKEN']);
  });
});
