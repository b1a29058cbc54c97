/**
 * Exec rules written as the README says, against the real programs' own
 * reading of their arguments. The gateway does not know a tool's grammar, so
 * a rule bounds the options (every argument starting with `-` allow-listed)
 * and the positionals (plain words only), and requires an option only
 * together with that allow-list. What such a rule does not allow falls to the
 * rules after it (in a real policy, one that holds writes for review; here the
 * default, deny):
 *
 * - kubectl: `get` with `-n`, `-l`, `-A`. Another server in any spelling
 *   (`-s URL`, `-sURL`, `--server=URL`, after `--`, the subcommand behind
 *   `-n`) is not allowed; an em dash (`—server=`) is no option to kubectl, which
 *   reads it as a resource name and calls only its own server.
 * - psql: its first positional is a connection string, not only a database
 *   name: `psql -l 'host=elsewhere port=…'` (or a `postgresql://` URI) sent
 *   the connection's PGPASSWORD to that server under a rule that allow-listed
 *   options alone. With the positionals bound to plain words it is not allowed.
 * - git: the last of `--dry-run --no-dry-run` wins, so a rule that only
 *   required `--dry-run` in the argv pushed for real; with the options
 *   allow-listed it is not allowed.
 *
 * Real kubectl against a recording API server, real psql against the test
 * PostgreSQL and a listener that asks for a cleartext password, real git.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const PG_SECRET = 'pg-pass-Kq83vLx0Zt';

let dir: string;
let gw: TestGateway;
let api: Server;
let elsewhere: Server;
let fakePg: TcpServer;
const apiSeen: string[] = [];
const elsewhereSeen: string[] = [];
const passwordsSent: string[] = [];

function recorder(seen: string[]): Promise<Server> {
  const s = createHttpServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}');
  });
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
}

/** A PostgreSQL server that asks for a cleartext password and records it. */
function passwordTaker(): Promise<TcpServer> {
  const s = createTcpServer((sock) => {
    let asked = false;
    sock.on('data', (d) => {
      if (!asked && d.length === 8 && d.readInt32BE(4) === 80877103) return void sock.write('N'); // SSLRequest
      if (!asked) {
        asked = true;
        return void sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
      }
      if (d[0] === 0x70) passwordsSent.push(d.subarray(5, d.length - 1).toString());
      sock.destroy();
    });
    sock.on('error', () => {});
  });
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
}

const port = (s: Server | TcpServer) => (s.address() as AddressInfo).port;
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-exec-readings-'));
  api = await recorder(apiSeen);
  elsewhere = await recorder(elsewhereSeen);
  fakePg = await passwordTaker();
  writeFileSync(
    join(dir, 'kubeconfig'),
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port(api)}"}}]
users: [{name: u, user: {token: cluster-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
  );
  git(tmpdir(), 'init', '-q', '--bare', join(dir, 'origin.git'));
  git(tmpdir(), 'init', '-q', '-b', 'main', join(dir, 'work'));
  git(join(dir, 'work'), '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'one');
  git(join(dir, 'work'), 'remote', 'add', 'origin', join(dir, 'origin.git'));
  const plain = '(!a.startsWith("-") && a.matches("^[a-z0-9/._-]+$"))';
  gw = await startTestGateway(`connections:
  - name: k8s
    kind: exec
    command: /usr/bin/kubectl
    cwd: ${JSON.stringify(dir)}
    env: { KUBECONFIG: ${JSON.stringify(join(dir, 'kubeconfig'))}, HOME: ${JSON.stringify(dir)} }
  - name: pg
    kind: exec
    command: /usr/bin/psql
    env: { PGHOST: 127.0.0.1, PGPORT: "5432", PGUSER: postgres, PGDATABASE: postgres, PGPASSWORD: ${PG_SECRET}, PGCONNECT_TIMEOUT: "5" }
  - name: repo
    kind: exec
    command: /usr/bin/git
    cwd: ${JSON.stringify(join(dir, 'work'))}
    env: { HOME: ${JSON.stringify(dir)} }
policy:
  default: deny
  rules:
    - id: kubectl-gets
      when: action.connection == "k8s" && facts.exec.subcommand == "get" && facts.exec.argv.all(a, !a.startsWith("-") || a in ["-n", "-l", "-A"])
      effect: allow
    - id: psql-lists
      when: action.connection == "pg" && facts.exec.argv.all(a, a in ["-l", "-A", "-t"] || ${plain})
      effect: allow
    - id: push-dry-runs
      when: action.connection == "repo" && facts.exec.subcommand == "push" && "--dry-run" in facts.exec.argv && facts.exec.argv.all(a, a in ["--dry-run", "--porcelain"] || ${plain})
      effect: allow
`);
});

afterAll(async () => {
  await gw?.stop();
  for (const s of [api, elsewhere, fakePg]) s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const act = (connection: string, args: string[]) => gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { args }, reason: 'look' } });

/** No rule allows it: it falls to the default (deny here; a rule after it that holds writes, in a real policy). */
async function expectRefused(connection: string, args: string[]): Promise<void> {
  const res = await act(connection, args);
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  expect(res.body.error.code).toBe('POLICY_DENIED');
}

describe('kubectl get with -n, -l, -A allow-listed', () => {
  it('runs against its own server only', async () => {
    const res = await act('k8s', ['get', 'pods', '-n', 'web', '-A']);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(apiSeen.length).toBeGreaterThan(0);
    expect(elsewhereSeen).toEqual([]);
  });

  it('does not allow another server in any spelling, nor the subcommand behind -n', async () => {
    const url = `http://127.0.0.1:${port(elsewhere)}`;
    for (const args of [['get', 'pods', '-s', url], ['get', 'pods', `-s${url}`], ['get', 'pods', `--server=${url}`], ['get', 'pods', `--serv=${url}`], ['get', '--', 'pods', `--server=${url}`], ['-n', 'get', 'delete', 'pods']]) {
      await expectRefused('k8s', args);
    }
    expect(elsewhereSeen).toEqual([]);
  });

  it('an em dash is no option to kubectl: it runs, reading it as a name, and calls no other server', async () => {
    const res = await act('k8s', ['get', 'pods', `\u2014server=127.0.0.1:${port(elsewhere)}`]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.result.stderr).not.toContain('unknown flag');
    expect(elsewhereSeen).toEqual([]);
  });
});

describe('psql: its first positional is a connection string', () => {
  it('lists databases on its own server', async () => {
    const res = await act('pg', ['-l', '-A', '-t']);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('succeeded');
    // (its owner, PGUSER's value, reads [redacted]: every value of the connection's env is taken out of its output)
    expect(res.body.result.stdout).toMatch(/^template1\|/m);
  });

  it('does not allow host=… or postgresql:// positionals, and no password leaves', async () => {
    await expectRefused('pg', ['-l', `host=127.0.0.1 port=${port(fakePg)}`]);
    await expectRefused('pg', ['-l', `postgresql://127.0.0.1:${port(fakePg)}/postgres`]);
    await expectRefused('pg', ['-l', `-h127.0.0.1`, `-p${port(fakePg)}`]);
    expect(passwordsSent).toEqual([]);
  });
});

describe('git push required to be a dry run', () => {
  it('a dry run runs and pushes nothing', async () => {
    const res = await act('repo', ['push', '--dry-run', '--porcelain', 'origin', 'main']);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(git(join(dir, 'origin.git'), 'branch', '--list')).toBe('');
  });

  it('--no-dry-run after --dry-run (the last wins) is not allowed, and nothing is pushed', async () => {
    await expectRefused('repo', ['push', '--dry-run', '--no-dry-run', 'origin', 'main']);
    await expectRefused('repo', ['push', '--dry-run', 'origin', 'main', '--no-dry-run']);
    expect(git(join(dir, 'origin.git'), 'branch', '--list')).toBe('');
  });
});
