/**
 * `npm ci --omit=dev` installs a working gateway: in an empty directory with only
 * what the package ships to run (package.json, the lockfile, bin/, the compiled
 * dist/; no src/, no TypeScript, no tsx), the runtime dependencies alone serve a
 * real allowed action end to end. The native SQLite addon is copied from this
 * checkout's install (same version) instead of compiling it again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, eventually } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'cs-omit-dev-'));
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
let upstream: Upstream;
let gateway: ChildProcess | undefined;

function npmCi(offline: boolean) {
  return spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', ...(offline ? ['--offline'] : []), '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
}

function node(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
}

beforeAll(async () => {
  for (const f of ['package.json', 'package-lock.json']) cpSync(f, join(dir, f));
  for (const d of ['bin', 'dist']) cpSync(d, join(dir, d), { recursive: true });
  // Every package is in the npm cache of this machine; without one, fetch them.
  let ci = npmCi(true);
  if (ci.status !== 0) ci = npmCi(false);
  expect(ci.status, `${ci.stdout}\n${ci.stderr}`).toBe(0);
  cpSync(resolve('node_modules/better-sqlite3/build'), join(dir, 'node_modules/better-sqlite3/build'), { recursive: true, dereference: true });
  upstream = await startUpstream((call) => ({ body: { echo: `${call.method} ${call.url}` } }));
}, 660_000);

afterAll(async () => {
  if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
    const exited = new Promise((r) => gateway!.once('exit', r));
    gateway.kill('SIGTERM');
    await exited;
  }
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a gateway installed with npm ci --omit=dev', () => {
  it('has no development dependency and no TypeScript source', () => {
    for (const dev of ['typescript', 'tsx', 'esbuild', 'vitest', 'fast-check']) expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(dir, 'src'))).toBe(false);
  });

  it('prints its version', () => {
    const r = node(['bin/countersign.js', '--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('serves an allowed action end to end', async () => {
    const keys: Record<string, string> = {};
    const yaml = configYaml([{ id: 'deploy-bot', kind: 'agent' }], keys, `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/api
policy:
  default: deny
  rules:
    - id: reads
      when: connection.name == "billing-api" && !facts.writes
      effect: allow
`, join(dir, 'state', 'countersign.db'));
    writeFileSync(join(dir, 'countersign.yaml'), yaml);
    gateway = spawn(process.execPath, ['bin/countersign.js', 'start', '--config', 'countersign.yaml'], { cwd: dir, env: { ...process.env, PORT: '0' } });
    let out = '';
    gateway.stdout!.on('data', (d: Buffer) => (out += d));
    gateway.stderr!.on('data', (d: Buffer) => (out += d));
    const url = await eventually(async () => {
      if (gateway!.exitCode !== null) throw new Error(`the gateway exited: ${out}`);
      return /Countersign is running at (http:\/\/\S+)/.exec(out)?.[1];
    }, 60_000);

    const res = await fetch(`${url}/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys['deploy-bot']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connection: 'billing-api', input: { method: 'GET', path: '/invoices' }, reason: 'list invoices' }),
    });
    const body = (await res.json()) as { status: string; result: unknown };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: 'succeeded', result: { status: 200, body: { echo: 'GET /api/invoices' } } });
    expect(upstream.calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /api/invoices']);

    // The console's assets, read beside the compiled module at run time, came along.
    const css = await fetch(`${url}/assets/console.css`);
    expect(css.status).toBe(200);
    expect(await css.text()).toBe(readFileSync('src/surfaces/http/console/assets/console.css', 'utf8'));
  }, 120_000);

  it('exports countersign/client, with its types', () => {
    const r = node(['--input-type=module', '-e', "const m = await import('countersign/client'); console.log(typeof m.createClient, typeof m.CountersignApiError)"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('function function');
    expect(existsSync(join(dir, 'dist/client/client.d.ts'))).toBe(true);
  });

  it('prepare accepts the shipped dist/ without TypeScript, and says what to do without one', () => {
    expect(node(['bin/build.js', '--prepare']).status).toBe(0);
    renameSync(join(dir, 'dist'), join(dir, 'dist.away'));
    try {
      const prepare = node(['bin/build.js', '--prepare']);
      expect(prepare.status).toBe(1);
      expect(prepare.stderr).toMatch(/dist\/ is missing and TypeScript is not installed/);
      const cli = node(['bin/countersign.js', '--version']);
      expect(cli.status).toBe(2);
      expect(cli.stderr).toMatch(/dist\/ is missing: run npm run build/);
    } finally {
      renameSync(join(dir, 'dist.away'), join(dir, 'dist'));
    }
  });
});
